import net from "node:net";

/**
 * Binds `host:port` and releases it at once, so that a port in use, an address that is not this machine's
 * or an unknown host name is refused before a model is loaded. Rejects with Node's own error (EADDRINUSE,
 * EADDRNOTAVAIL, ENOTFOUND), which names the address.
 */
export function checkListenAddress(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once("error", reject);
        probe.listen(port, host, () => probe.close(() => resolve()));
    });
}
