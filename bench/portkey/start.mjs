// Starts Portkey's open-source gateway (node build) bound to loopback only.
// Portkey's start-server.js calls serve({port}) without a hostname, i.e. all interfaces; we
// default the host of every listen() to 127.0.0.1 before loading it.
//   node bench/portkey/start.mjs --port=8787
import http from 'node:http';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof host !== 'string') return listen.call(this, port, '127.0.0.1', ...[host, ...rest].filter((x) => x !== undefined));
  return listen.call(this, port, host, ...rest);
};
console.clear = () => {};
process.env.NODE_ENV = process.env.NODE_ENV || 'production';
if (!process.argv.includes('--headless')) process.argv.push('--headless');
await import('@portkey-ai/gateway/build/start-server.js');
