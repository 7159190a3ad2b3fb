// Work budgets and rate buckets (docs/FEDERATION_PROTOCOL.md §Limits): smooth, a few seconds'
// worth at most at once, charged by work. Pure: time is a parameter, so nothing here is timed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BURST_S, RateLimiter } from "../../lib/http/rate-limit.js";
import { WorkBudget } from "../../lib/http/work-budget.js";
import { topLevelString } from "../../lib/http/preauth.js";

describe("rate limits: a few seconds' worth at once, never a minute's", () => {
  test("RateLimiter: after a long idle time a sender gets BURST_S seconds' worth, then the steady rate", () => {
    const limiter = new RateLimiter();
    const t0 = 1_000_000;
    let allowed = 0;
    for (let i = 0; i < 60; i++) if (limiter.take("k", 60, t0) === 0) allowed++;
    assert.equal(allowed, BURST_S, "60 a minute holds 10 s worth at once, not 60");
    assert.equal(limiter.take("k", 60, t0), 1, "the next token is a second away");
    assert.equal(limiter.take("k", 60, t0 + 1000), 0, "one token a second after that");
    assert.ok(limiter.take("k", 60, t0 + 1000) > 0);
    // A minute's idle refills only the burst.
    let later = 0;
    for (let i = 0; i < 60; i++) if (limiter.take("k", 60, t0 + 120_000) === 0) later++;
    assert.equal(later, BURST_S);
  });

  test("RateLimiter: a slow rate still lets one message through", () => {
    const limiter = new RateLimiter();
    assert.equal(limiter.take("k", 1, 0), 0);
    assert.equal(limiter.take("k", 1, 0), 60);
  });
});

describe("work budget: charged by work, in debt after a large answer", () => {
  const rate = { perS: 1000, burstS: 4 };

  test("WorkBudget: a sender may start while not in debt; what it cost is charged after, and it waits until paid back", () => {
    const b = new WorkBudget();
    assert.equal(b.wait("p", rate, 0), 0);
    assert.equal(b.available("p", rate, 0), 4000, "a full bucket holds burstS seconds' worth");
    b.charge("p", 10_000, rate, 0);
    assert.equal(b.available("p", rate, 0), -6000);
    assert.equal(b.wait("p", rate, 0), 7, "6,000 units of debt at 1,000 a second: whole seconds until it is positive");
    assert.equal(b.wait("p", rate, 6000), 1);
    assert.equal(b.wait("p", rate, 6001), 0);
    assert.equal(b.wait("q", rate, 0), 0, "another sender's bucket is its own");
  });

  test("WorkBudget: over any window a sender gets at most capacity + rate × window + one message", () => {
    const b = new WorkBudget();
    const message = 2500;
    for (const gapMs of [1, 100, 700, 2500, 3000]) {
      const key = `g${gapMs}`;
      let served = 0;
      let t = 0;
      for (; t <= 60_000; t += gapMs) {
        if (b.wait(key, rate, t) === 0) {
          b.charge(key, message, rate, t);
          served += message;
        }
      }
      assert.ok(served <= rate.perS * rate.burstS + (rate.perS * t) / 1000 + message, `gap ${gapMs} ms: ${served}`);
      // A sender that asks faster than the rate still gets the rate.
      if ((message * 1000) / gapMs >= rate.perS) assert.ok(served >= (rate.perS * t) / 1000 - message, `gap ${gapMs} ms: the steady rate is still given (${served})`);
    }
  });

  test("WorkBudget: a full bucket is never more than burstS seconds' worth, however long it was idle", () => {
    const b = new WorkBudget();
    b.charge("p", 1, rate, 0);
    assert.equal(b.available("p", rate, 86_400_000), 4000);
  });
});

describe("pre-auth: the top-level signer of a body's first bytes", () => {
  const did = "did:vm:node:a";
  test("topLevelString: finds the top-level member, whatever its position among the first bytes", () => {
    assert.equal(topLevelString(Buffer.from(`{"type":"request","v":2,"signer":"${did}","want":["x"`), "signer"), did);
    assert.equal(topLevelString(Buffer.from(`{ "type" : "reconcile" , "signer" : "${did}" ,`), "signer"), did);
    assert.equal(topLevelString(Buffer.from(`{"namespaces":[{"namespace":"a","payload":"AAAA"}],"round":1,"signer":"${did}"}`), "signer"), did);
  });

  test("topLevelString: nested members, strings that contain the name, cut values and escapes are not taken for it", () => {
    assert.equal(topLevelString(Buffer.from(`{"x":{"signer":"${did}"},"y":1`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"memo":"\\"signer\\":\\"${did}\\"","y":1`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"list":["signer","${did}"],"y":1`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"want":["a"],"signer":"did:vm:no`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"signer":"did:vm:\\u006eode:a"}`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"signer":1,"x":"${did}"}`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`["signer","${did}"]`), "signer"), undefined);
    assert.equal(topLevelString(Buffer.from(`{"a":"b"}{"signer":"${did}"}`), "signer"), undefined);
  });
});
