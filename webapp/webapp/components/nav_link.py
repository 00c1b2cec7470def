"""A navigation link that knows by itself whether it names the current page."""

import reflex as rx


class NavLink(rx.Component):
    """React Router's NavLink: it marks itself `aria-current="page"` when its route is the one shown, from the
    router's own location. A link reading `State.router` instead re-rendered, every one of them, on the first state
    delta after hydration (which only carries the router's data): main-thread time a phone pays for nothing."""

    library = "react-router"
    tag = "NavLink"
    alias = "ReactRouterNavLink"

    # Current on its path and below it ("/verify/<sha256>" is in Verify); "/" is current on "/" alone. (Below
    # matters for more than sections: the build prerenders each page at its path with a trailing slash, and
    # hydration keeps the attributes it finds, so a link current only on the exact path stayed unmarked.)
    to: rx.Var[str]


nav_link = NavLink.create
