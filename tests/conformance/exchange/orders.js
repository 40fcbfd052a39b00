'use strict';
// What the Node agents of the exchange share (README.md here): the kpipe one (agent.js) and
// kafka-javascript's (foreign/js/agent.mjs) read the same ORDERS file and fail the same way.
const fs = require('node:fs');

/** An expected failure: the agent prints its message alone and exits 1. */
class Failure extends Error {}

/** The orders of an ORDERS file (JSON lines of natural JSON). */
function readOrders(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  if (!lines.length) throw new Failure(`${file}: no orders`);
  return lines.map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (e) {
      throw new Failure(`${file} line ${i + 1}: ${e.message}`);
    }
  });
}

module.exports = { Failure, readOrders };
