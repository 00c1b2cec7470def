"""The Reflex app: its pages, their routes, and the browser helpers every page loads."""

import reflex as rx

from webapp.pages.planned import clusters_page, feed_page, profile_page, search_page, upload_page
from webapp.pages.verify import VerifyState, verify_page
from webapp.state import AuthState

app = rx.App(
    head_components=[rx.el.script(src="/mediaproof.js")],
)

app.add_page(feed_page, route="/", title="Mediaproof", on_load=AuthState.expire_session)
app.add_page(upload_page, route="/upload", title="Upload · Mediaproof", on_load=AuthState.expire_session)
app.add_page(search_page, route="/search", title="Search · Mediaproof", on_load=AuthState.expire_session)
app.add_page(
    verify_page,
    route="/verify",
    title="Verify a file · Mediaproof",
    on_load=[AuthState.expire_session, VerifyState.load_config],
)
app.add_page(clusters_page, route="/clusters", title="Clusters · Mediaproof", on_load=AuthState.expire_session)
app.add_page(profile_page, route="/profile", title="Profile · Mediaproof", on_load=AuthState.expire_session)
