// js-ipfs 0.66's newer dependencies call Promise.withResolvers, which Node 20 lacks
// (it arrived in Node 22). Preloaded with NODE_OPTIONS=--require by the devnodes crate.
'use strict';
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
