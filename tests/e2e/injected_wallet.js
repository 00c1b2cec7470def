// An EIP-1193 wallet for the browser tests, installed before any page script runs (context.add_init_script).
// Signing goes to Python (eth_account with an anvil test key) through exposed functions; every other call goes
// to anvil. `__WALLET_CONFIG__` is replaced by the test's settings (JSON) before the script is installed.
(() => {
  const config = __WALLET_CONFIG__;
  let chainId = config.chainId;
  const listeners = new Map();
  const refused = () => Object.assign(new Error("User rejected the request."), { code: 4001 });

  function emit(event, value) {
    for (const listener of listeners.get(event) || []) listener(value);
  }

  async function request({ method, params = [] }) {
    window.__walletLog.push(method);
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
  window.ethereum = {
    isMediaproofTestWallet: true,
    request,
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) || []), listener]);
    },
    removeListener(event, listener) {
      listeners.set(event, (listeners.get(event) || []).filter((l) => l !== listener));
    },
  };
})();
