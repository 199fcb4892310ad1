/**
 * Preloaded into netlify dev by dev/start.ts (NODE_OPTIONS=--import): every server that
 * listens without naming a host (netlify dev's proxy, its functions server) listens on
 * DEV_HOST instead of every interface. netlify-cli has no option for it.
 */
import net from 'node:net';

const host = process.env.DEV_HOST || '127.0.0.1';
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (first === undefined || typeof first === 'function') {
    args.unshift(0, host); // listen(callback): any port
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, host); // listen(port[, backlog][, callback])
  } else if (typeof first === 'object' && first !== null && first.path === undefined && first.fd === undefined && first.handle === undefined && first.host === undefined && !(first instanceof net.Server) && !('_handle' in first)) {
    args[0] = { ...first, host }; // listen({ port })
  }
  return listen.apply(this, args);
};
