"""Pages whose data comes from services still being built (upload gateway, indexer): honest empty states."""

import reflex as rx

from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.state import AuthState


def feed_page() -> rx.Component:
    return page_shell(
        "Feed",
        empty_state(
            "layout-grid",
            "No feed yet",
            "The newest photos and videos will appear here once the indexer serves the feed. "
            "Meanwhile you can verify any file against the chain.",
            id="empty-feed",
        ),
        rx.link(rx.button("Verify a file", variant="soft"), href="/verify"),
    )


def upload_page() -> rx.Component:
    return page_shell(
        "Upload",
        empty_state(
            "upload",
            "Uploading is not available yet",
            "Uploads will go through the upload service, which is not connected to this app yet.",
            id="empty-upload",
        ),
    )


def search_page() -> rx.Component:
    return page_shell(
        "Search",
        empty_state(
            "search",
            "Search is not available yet",
            "Title search will answer from the indexer, which is not connected to this app yet.",
            id="empty-search",
        ),
    )


def clusters_page() -> rx.Component:
    return page_shell(
        "Storage clusters",
        empty_state(
            "server",
            "No cluster status yet",
            "Each storage cluster's status, signing key and object count will be shown here.",
            id="empty-clusters",
        ),
    )


def profile_page() -> rx.Component:
    return page_shell(
        "Profile",
        rx.cond(
            AuthState.signed_in,
            rx.vstack(
                rx.text("Signed in as ", rx.code(AuthState.address, word_break="break-all"), id="profile-address"),
                empty_state(
                    "images",
                    "Your media will be listed here",
                    "Your uploads and your deposit balance will be shown once the indexer is connected.",
                    id="empty-profile",
                ),
                width="100%",
            ),
            empty_state(
                "user",
                "Not signed in",
                "Sign in with your wallet (top right) to see your profile.",
                id="profile-signed-out",
            ),
        ),
    )
