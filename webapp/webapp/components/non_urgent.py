"""Parts of a page React mounts after the rest, in small slices (assets/non_urgent.js): for panels below the fold,
whose mount in the same task as the page's data kept a phone's main thread busy (Lighthouse's Total Blocking Time)."""

import reflex as rx


class NonUrgent(rx.Component):
    """Its children, rendered in a React transition once it has mounted (nothing until then)."""

    library = "$/public/non_urgent.js"
    tag = "NonUrgent"


non_urgent = NonUrgent.create


# A panel a phone shows only once scrolled to: its layout and paint wait until it nears the screen (the browser keeps
# it in the page, the accessibility tree and find-in-page); the size stands in for it until it has been laid out once.
BELOW_THE_FOLD = {"content_visibility": "auto", "contain_intrinsic_size": "auto 480px"}
