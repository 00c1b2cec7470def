"""/clusters: every storage cluster's status, signing key and how many objects it holds (from the indexer)."""

from __future__ import annotations

import reflex as rx

from mediaproof.errors import MediaproofError
from webapp import services
from webapp.app_settings import app_settings
from webapp.components.empty_state import empty_state
from webapp.components.layout import page_shell
from webapp.components.media_grid import error_callout

STATUS_COLORS = {"active": "green", "draining": "amber", "down": "red"}


class ClustersState(rx.State):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loaded: bool = False
    error: str = ""

    @rx.event
    async def load(self):
        self.error = ""
        try:
            clusters = await services.clusters(app_settings())
        except MediaproofError as exc:
            self.error = f"Cluster status could not be loaded: {exc}"
            return
        self.rows = [
            {
                "id": str(c["cluster_id"]),
                "status": str(c["status"]).lower(),
                "color": STATUS_COLORS.get(str(c["status"]).lower(), "gray"),
                "signer": str(c["signer"]),
                "endpoint": str(c.get("endpoint") or ""),
                "weight": str(c.get("weight", "")),
                "objects": str(c.get("objects", 0)),
            }
            for c in clusters
        ]
        self.loaded = True


def _cluster_card(row: rx.vars.ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Cluster ", row["id"], size="4", as_="h2"),
                rx.badge(row["status"], color_scheme=row["color"], class_name="cluster-status"),
                rx.spacer(),
                rx.text(row["objects"], " objects", weight="medium", class_name="cluster-objects"),
                width="100%",
                align="center",
            ),
            rx.text("Signing key ", rx.code(row["signer"], word_break="break-all"), size="2"),
            rx.text(
                "Endpoint ",
                rx.code(row["endpoint"], word_break="break-all"),
                " · weight ",
                row["weight"],
                size="2",
                color=rx.color("gray", 11),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="cluster-card",
        data_cluster_id=row["id"],
    )


def clusters_page() -> rx.Component:
    return page_shell(
        "Storage clusters",
        rx.text(
            "Each cluster keeps copies of the media and signs a receipt for every file it pins; "
            "a registration needs receipts from enough active clusters.",
            color=rx.color("gray", 11),
        ),
        rx.cond(ClustersState.error != "", error_callout(ClustersState.error, ClustersState.load, id="clusters-error")),
        rx.cond(
            ClustersState.loaded,
            rx.cond(
                ClustersState.rows.length() > 0,
                rx.vstack(rx.foreach(ClustersState.rows, _cluster_card), width="100%", id="clusters-list"),
                empty_state(
                    "server",
                    "No clusters registered",
                    "No storage cluster is registered on chain yet.",
                    id="empty-clusters",
                ),
            ),
            rx.cond(ClustersState.error == "", rx.skeleton(rx.box(height="8em", width="100%"), loading=True)),
        ),
    )
