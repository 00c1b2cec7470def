"""The Reflex app: its pages, their routes, and the browser helpers every page loads."""

import reflex as rx

from webapp import services
from webapp.app_settings import app_settings
from webapp.asset_caching import immutable_assets
from webapp.page_paths import prerendered_in_place
from webapp.pages.clusters import ClustersState, clusters_page
from webapp.pages.feed import FeedState, feed_page
from webapp.pages.media import MediaState, media_page
from webapp.pages.not_found import not_found_page
from webapp.pages.profile import OwnProfileState, ProfileState, own_profile_page, profile_page
from webapp.pages.profile_social import ProfileSocialState
from webapp.pages.project import project_page
from webapp.pages.project_file_list import ProjectFilesState
from webapp.pages.project_state import ProjectState
from webapp.pages.project_upload import ProjectUploadState
from webapp.pages.project_writes import ProjectWritesState
from webapp.pages.projects import ProjectsState, projects_page
from webapp.pages.search import search_page
from webapp.pages.upload import UploadState, upload_page
from webapp.pages.verify import VerifyState, verify_digest_page, verify_page
from webapp.pages.verify_tx import TxVerifyState
from webapp.state import AuthState

app = rx.App(
    # accessibility.css: the contrast fixes Radix Themes' defaults need (axe-core, tests/e2e/test_every_page.py).
    stylesheets=["/accessibility.css"],
    # The built front end's hashed files are cached by browsers for a year (webapp/asset_caching.py); prerendered
    # pages are served at their own paths, without a redirect to a trailing slash, and /m/<key> is served the media
    # page's prerendered shell (webapp/page_paths.py).
    api_transformer=[immutable_assets, prerendered_in_place],
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        # Photos come from the download service, another origin: its connection is opened while the page's scripts
        # load, not once the first <img> asks (a phone's Largest Contentful Paint is the photo on the media page).
        rx.el.link(rel="preconnect", href=services.download_base(app_settings())),
        # Deferred (in this order, before the app's own module scripts run): nothing of theirs is needed to paint.
        # resumable_upload.js fetches npm tus-js-client's bundle (/vendor/tus.min.js, copied from node_modules by
        # tooling/web_setup.sh) itself, on a page's first resumable upload.
        rx.el.script(src="/mediaproof.js", defer=True),
        rx.el.script(src="/resumable_upload.js", defer=True),
    ],
)

app.add_page(
    feed_page,
    route="/",
    title="Mediaproof",
    on_load=[AuthState.expire_session, FeedState.load],
    # its first data is a dated grid: assets/mediaproof.js looks the viewer's time zone up before the app hydrates
    meta=[{"name": "mediaproof:day-headings", "content": "yes"}],
)
app.add_page(
    upload_page, route="/upload", title="Upload · Mediaproof", on_load=[AuthState.expire_session, UploadState.load]
)
app.add_page(search_page, route="/search", title="Search · Mediaproof", on_load=AuthState.expire_session)
app.add_page(
    verify_page,
    route="/verify",
    title="Verify a file · Mediaproof",
    on_load=[AuthState.expire_session, VerifyState.clear, VerifyState.load_config, TxVerifyState.load],
)
app.add_page(
    verify_digest_page,
    route="/verify/[digest]",
    title="Verify · Mediaproof",
    on_load=[AuthState.expire_session, VerifyState.load_digest],
)
app.add_page(
    clusters_page,
    route="/clusters",
    title="Clusters · Mediaproof",
    on_load=[AuthState.expire_session, ClustersState.load],
)
app.add_page(
    own_profile_page,
    route="/profile",
    title="Profile · Mediaproof",
    on_load=[AuthState.expire_session, OwnProfileState.go_to_own],
)
app.add_page(
    profile_page,
    route="/u/[wallet]",
    title="Profile · Mediaproof",
    on_load=[AuthState.expire_session, ProfileState.load, ProfileSocialState.load],
)
app.add_page(
    projects_page,
    route="/projects",
    title="Projects · Mediaproof",
    on_load=[AuthState.expire_session, ProjectsState.load],
)
app.add_page(
    project_page,
    route="/projects/[project_key]",
    title="Project · Mediaproof",
    on_load=[
        AuthState.expire_session,
        ProjectWritesState.clear,
        ProjectUploadState.clear,
        ProjectState.load,
        ProjectFilesState.load,
    ],
)
app.add_page(
    media_page,
    route="/m/[media_key]",
    title="Media · Mediaproof",
    on_load=[AuthState.expire_session, MediaState.load],
)
app.add_page(not_found_page, route="404", title="Page not found · Mediaproof", on_load=AuthState.expire_session)
