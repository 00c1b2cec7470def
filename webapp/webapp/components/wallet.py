"""The wallet button in the header and the panel that explains a failed sign-in."""

import reflex as rx

from webapp.state import AuthState
from webapp.wallet_choice import FIND_A_WALLET


def wallet_button() -> rx.Component:
    return rx.fragment(
        # Clicked by assets/mediaproof.js when the wallet emits accountsChanged or chainChanged.
        rx.el.button(on_click=AuthState.wallet_changed, id="wallet-changed", hidden=True, aria_hidden="true"),
        _wallet_button_face(),
    )


def _wallet_button_face() -> rx.Component:
    return rx.cond(
        AuthState.signed_in,
        rx.hstack(
            rx.badge(
                rx.icon("wallet", size=14),
                AuthState.short_address,
                title=AuthState.address,
                id="signed-in-address",
                data_address=AuthState.address,
                size="2",
                color_scheme="green",
            ),
            rx.button("Sign out", on_click=AuthState.sign_out, variant="soft", size="1", id="sign-out"),
            spacing="2",
            align="center",
        ),
        rx.button(
            rx.icon("wallet", size=16),
            "Sign in",
            on_click=AuthState.connect,
            loading=AuthState.problem == "busy",
            id="sign-in",
            size="2",
        ),
    )


def wallet_problem_panel() -> rx.Component:
    """Shown under the header while a sign-in is waiting or has failed; offers the chain switch when it helps."""
    return rx.cond(
        AuthState.problem != "",
        # Built from its parts so the icon is one of five static icons: rx.callout(icon=<a Var>) would ship lucide's
        # every icon (~250 KB, DynamicIcon) with every page, since every page has this panel.
        rx.callout.root(
            rx.callout.icon(
                rx.match(
                    AuthState.problem,
                    ("busy", rx.icon("loader")),
                    ("choose", rx.icon("wallet")),
                    ("wrong_chain", rx.icon("link-2-off")),
                    ("ended", rx.icon("log-in")),
                    rx.icon("triangle-alert"),
                )
            ),
            rx.callout.text(
                rx.vstack(
                    rx.text(AuthState.detail, id="wallet-message"),
                    rx.cond(AuthState.problem == "choose", _wallet_choices()),
                    rx.cond(
                        AuthState.problem == "no_wallet",
                        rx.link(
                            "Find a wallet to install (ethereum.org)",
                            href=FIND_A_WALLET,
                            is_external=True,
                            id="find-wallet",
                        ),
                    ),
                    rx.cond(
                        AuthState.problem == "wrong_chain",
                        rx.button(
                            f"Switch wallet to chain {AuthState.expected_chain_id}",
                            on_click=AuthState.switch_chain,
                            id="switch-chain",
                            size="2",
                        ),
                    ),
                    spacing="2",
                    align="start",
                )
            ),
            color_scheme=rx.match(
                AuthState.problem,
                ("busy", "blue"),
                ("choose", "blue"),
                ("refused", "amber"),
                ("wrong_chain", "amber"),
                ("ended", "amber"),
                "red",
            ),
            id="wallet-problem",
            data_problem=AuthState.problem,
            width="100%",
        ),
    )


def _wallet_choices() -> rx.Component:
    """One button per announced wallet (EIP-6963), with the name and icon the wallet gave itself."""
    return rx.flex(
        rx.foreach(
            AuthState.wallets,
            lambda wallet: rx.button(
                rx.cond(
                    wallet["icon"] != "",
                    rx.image(src=wallet["icon"], alt="", width="20px", height="20px"),
                    rx.icon("wallet", size=16),
                ),
                wallet["name"],
                on_click=AuthState.connect_with(wallet["uuid"]),  # type: ignore[operator]
                variant="surface",
                size="2",
                class_name="wallet-choice",
                data_rdns=wallet["rdns"],
            ),
        ),
        gap="0.5em",
        flex_wrap="wrap",
        id="wallet-choices",
        role="group",
        aria_label="Installed wallets",
    )
