import {
  AbortedError,
  TaskAdmission,
  defaultAdmissionLimits,
  type AdmissionRelease,
} from "../../provider/src/vsphere";

/** Lets queued admissions settle (they resolve in microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Asks for admission and records the order in which tasks were admitted. */
function asker(admission: TaskAdmission, order: string[]) {
  const releases = new Map<string, AdmissionRelease>();
  const ask = (name: string, host?: string, signal?: AbortSignal) =>
    admission.admit(host, signal).then((release) => {
      order.push(name);
      releases.set(name, release);
    });
  const release = (name: string) => {
    const r = releases.get(name);
    if (!r) throw new Error(`${name} was not admitted`);
    r();
  };
  return { ask, release };
}

describe("TaskAdmission", () => {
  it("has the documented defaults: 320 tasks per vCenter and 16 per host", () => {
    expect(defaultAdmissionLimits).toEqual({ perVCenter: 320, perHost: 16 });
    expect(new TaskAdmission().limits).toEqual(defaultAdmissionLimits);
  });

  it("never has more than perHost tasks in flight on a host, and admits the rest in the order they asked", async () => {
    const admission = new TaskAdmission({ perVCenter: 100, perHost: 2 });
    const order: string[] = [];
    const { ask, release } = asker(admission, order);
    const done = ["a", "b", "c", "d", "e"].map((n) => ask(n, "host-1"));
    await settle();
    expect(order).toEqual(["a", "b"]);
    expect(admission.stats()).toMatchObject({ inFlight: 2, waiting: 3 });

    release("b");
    await settle();
    expect(order).toEqual(["a", "b", "c"]);
    release("a");
    release("c");
    await settle();
    expect(order).toEqual(["a", "b", "c", "d", "e"]);
    release("d");
    release("e");
    await Promise.all(done);
    expect(admission.stats()).toMatchObject({ inFlight: 0, waiting: 0, peakInFlight: 2 });
    expect(admission.stats().peakPerHost.get("host-1")).toBe(2);
  });

  it("bounds all hosts together by perVCenter, first come first served across hosts", async () => {
    const admission = new TaskAdmission({ perVCenter: 3, perHost: 8 });
    const order: string[] = [];
    const { ask, release } = asker(admission, order);
    const asked = [
      ask("h1-a", "host-1"),
      ask("h2-a", "host-2"),
      ask("none-a"),
      ask("h2-b", "host-2"),
      ask("h1-b", "host-1"),
    ];
    await settle();
    expect(order).toEqual(["h1-a", "h2-a", "none-a"]);
    release("none-a");
    await settle();
    expect(order).toEqual(["h1-a", "h2-a", "none-a", "h2-b"]);
    release("h1-a");
    await settle();
    expect(order).toEqual(["h1-a", "h2-a", "none-a", "h2-b", "h1-b"]);
    for (const n of ["h2-a", "h2-b", "h1-b"]) release(n);
    await Promise.all(asked);
    expect(admission.stats().peakInFlight).toBe(3);
  });

  it("does not let a task held back by its own full host hold back a task for another host", async () => {
    const admission = new TaskAdmission({ perVCenter: 10, perHost: 1 });
    const order: string[] = [];
    const { ask, release } = asker(admission, order);
    const asked = [ask("h1-a", "host-1"), ask("h1-b", "host-1"), ask("h2-a", "host-2")];
    await settle();
    expect(order).toEqual(["h1-a", "h2-a"]);
    release("h1-a");
    await settle();
    expect(order).toEqual(["h1-a", "h2-a", "h1-b"]);
    release("h1-b");
    release("h2-a");
    await Promise.all(asked);
  });

  it("drops a waiting task whose signal aborts, with the signal's reason, and admits the next in its place", async () => {
    const admission = new TaskAdmission({ perVCenter: 1, perHost: 1 });
    const order: string[] = [];
    const { ask, release } = asker(admission, order);
    const first = ask("first", "host-1");
    const controller = new AbortController();
    const cancelled = ask("cancelled", "host-1", controller.signal);
    const last = ask("last", "host-1");
    await settle();
    controller.abort(new Error("user pressed ctrl-c"));
    await expect(cancelled).rejects.toBeInstanceOf(AbortedError);
    await expect(cancelled).rejects.toThrow("the task was not sent: user pressed ctrl-c");
    expect(admission.stats().waiting).toBe(1);
    release("first");
    await Promise.all([first, last]);
    expect(order).toEqual(["first", "last"]);
    release("last");
    expect(admission.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it("counts a release once, however often it is called", async () => {
    const admission = new TaskAdmission({ perVCenter: 1, perHost: 1 });
    const release = await admission.admit("host-1");
    release();
    release();
    expect(admission.stats().inFlight).toBe(0);
    const again = await admission.admit("host-1");
    expect(admission.stats().inFlight).toBe(1);
    again();
  });

  it("rejects limits that are not whole numbers of at least 1, naming the limit", () => {
    expect(() => new TaskAdmission({ perHost: 0 })).toThrow(
      "admission limit perHost must be a whole number of at least 1, got 0",
    );
    expect(() => new TaskAdmission({ perVCenter: 2.5 })).toThrow(
      "admission limit perVCenter must be a whole number of at least 1, got 2.5",
    );
  });
});
