// An EIP-1193 wallet for the browser tests, installed before any page script runs (context.add_init_script).
// Signing goes to Python (eth_account with an anvil test key) through exposed functions; every other call goes
// to anvil. `__WALLET_CONFIG__` is replaced by the test's settings (JSON) before the script is installed.
//
// With `announce` (wallet names), it stands in for several browser extensions at once, which a test cannot install:
// each name is its own provider announced by EIP-6963 (and the first also takes window.ethereum, as the extension
// that won the race would), and each logs its calls in window.__walletLogs[name], so a test sees which one was asked.
(() => {
  const config = __WALLET_CONFIG__;
  let chainId = config.chainId;
  const listeners = new Map();
  const refused = () => Object.assign(new Error("User rejected the request."), { code: 4001 });

  function emit(event, value) {
    for (const listener of listeners.get(event) || []) listener(value);
  }

  async function request(name, { method, params = [] }) {
    window.__walletLog.push(method);
    (window.__walletLogs[name] = window.__walletLogs[name] || []).push(method);
    switch (method) {
      case "eth_requestAccounts":
        if (config.refuseConnect) throw refused();
        return [config.address];
      case "eth_accounts":
        return [config.address];
      case "eth_chainId":
        return chainId;
      case "net_version":
        return String(parseInt(chainId, 16));
      case "wallet_switchEthereumChain":
        if (params[0].chainId.toLowerCase() !== config.anvilChainId) {
          throw Object.assign(new Error("Unrecognized chain ID"), { code: 4902 });
        }
        chainId = params[0].chainId.toLowerCase();
        emit("chainChanged", chainId);
        return null;
      case "personal_sign":
        if (config.refuseSign) throw refused();
        return await window.__walletPersonalSign(params[0], params[1]);
      case "eth_signTypedData_v4":
        if (config.refuseSign || config.refuseTypedSign) throw refused();
        return await window.__walletSignTypedData(params[0], params[1]);
      default:
        // A wallet on another chain cannot reach the test chain at all.
        if (chainId !== config.anvilChainId) {
          throw Object.assign(new Error(`wallet is on chain ${chainId}`), { code: 4901 });
        }
        return await window.__walletRpc(method, params);
    }
  }

  // For tests: what a user does in the wallet's own window.
  window.__testWallet = {
    switchAccount(address) {
      config.address = address;
      emit("accountsChanged", [address]);
    },
  };
  window.__walletLog = [];
  window.__walletLogs = {};
  const provider = (name) => ({
    isMediaproofTestWallet: true,
    request: (args) => request(name, args),
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) || []), listener]);
    },
    removeListener(event, listener) {
      listeners.set(event, (listeners.get(event) || []).filter((l) => l !== listener));
    },
  });
  const names = config.announce || [];
  if (names.length === 0) {
    window.ethereum = provider("window.ethereum");
    return;
  }
  const announced = names.map((name, i) => ({
    info: {
      uuid: `00000000-0000-4000-8000-00000000000${i}`,
      name,
      icon: `data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="%23${i ? "36c" : "c63"}"/></svg>`,
      rdns: `test.mediaproof.wallet${i}`,
    },
    provider: provider(name),
  }));
  window.ethereum = announced[0].provider;
  const announce = () => {
    for (const detail of announced) {
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze(detail) }));
    }
  };
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
