/**
 * Waits until an object's properties satisfy a condition (a guest signalling
 * readiness, an IP address appearing) with the property collector's long poll:
 * one private collector and filter per wait, WaitForUpdatesEx until the
 * condition holds, no sleeps. Used for the few long waits (parents, `waitForIp`);
 * task completion has its own shared waiter.
 *
 * Updates are not trusted alone: vCenter has been seen to miss
 * property-collector notifications (vmware/vic #7098), so every `rereadEveryMs`
 * the wait reads the properties directly, in one call. An update that changes
 * only keys VMware Tools publishes on its own (`guestinfo.appInfo`,
 * `guestinfo.vmtools.*`, refreshed while Tools run) is no news: the condition
 * is not asked again for it, and it costs no read.
 */
import { cancellation, isVimFault, VSphereError } from "./faults";
import type { Session } from "./session";
import { list, type DataObject } from "./soap/xml";
import type { MoRef } from "./types";
import { withoutToolsKeys } from "./tools-keys";

/** How a property wait ends early. */
export interface PropertyWaitOptions {
  readonly signal?: AbortSignal;
  /** Give up after this long (milliseconds); rejects with {@link PropertyWaitTimeoutError}. */
  readonly timeoutMs?: number;
  /** Called about every `progressEveryMs` while waiting, with the milliseconds waited so far. */
  readonly onProgress?: (waitedMs: number, props: Readonly<Record<string, unknown>>) => void;
  readonly progressEveryMs?: number;
  /** Read the properties directly this often (missed notifications), milliseconds. Default 60000. */
  readonly rereadEveryMs?: number;
}

/** The condition did not hold before the wait's timeout. */
export class PropertyWaitTimeoutError extends VSphereError {
  constructor(
    message: string,
    /** The last values seen, for the caller's message. */
    readonly last: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** The object was deleted while being waited on. */
export class WaitedObjectGoneError extends VSphereError {}

export class PropertyWaiter {
  constructor(private readonly session: Session) {}

  /**
   * Resolves with the properties once `done(props)` is true (checked on the
   * first full read and after every change). `obj` vanishing rejects with
   * {@link WaitedObjectGoneError}.
   */
  async waitFor(
    obj: MoRef,
    paths: readonly string[],
    done: (props: Readonly<Record<string, unknown>>) => boolean,
    options: PropertyWaitOptions = {},
  ): Promise<Record<string, unknown>> {
    const started = Date.now();
    const deadline = options.timeoutMs !== undefined ? started + options.timeoutMs : Infinity;
    const progressEvery = options.progressEveryMs ?? 10_000;
    const rereadEvery = options.rereadEveryMs ?? 60_000;
    let nextProgress = started + progressEvery;
    let nextReread = started + rereadEvery;
    const content = await this.session.serviceContent();
    const spec: DataObject = {
      $type: "PropertyFilterSpec",
      propSet: [{ $type: "PropertySpec", type: obj.type, all: false, pathSet: [...paths] }],
      objectSet: [{ $type: "ObjectSpec", obj, skip: false }],
    };
    /** A collector with the filter, in the current session (collectors die with their session). */
    const open = async (): Promise<{ pc: MoRef; generation: number }> => {
      const pc = (await this.session.invoke(
        "CreatePropertyCollector",
        content.propertyCollector,
        {},
        optionsOf(options.signal),
      )) as MoRef;
      const generation = this.session.generation;
      try {
        await this.session.invoke(
          "CreateFilter",
          pc,
          { spec, partialUpdates: false },
          optionsOf(options.signal),
        );
      } catch (error) {
        // A collector without its filter would live on, unused, for the rest of the session.
        await this.session.invoke("DestroyPropertyCollector", pc, {}).catch(() => undefined);
        throw error;
      }
      return { pc, generation };
    };
    let collector = await open();
    let props: Record<string, unknown> = {};
    /** What the condition last saw, without Tools' own keys: an update that leaves it unchanged is no news. */
    let asked: string | undefined;
    const news = (): boolean => {
      const seen = JSON.stringify(relevant(props));
      if (seen === asked) return false;
      asked = seen;
      return true;
    };
    try {
      let version = "";
      for (;;) {
        if (options.signal?.aborted) throw cancellation(options.signal, `waiting on ${obj.value}`);
        const now = Date.now();
        if (now >= deadline) {
          throw new PropertyWaitTimeoutError(
            `${obj.value}: the condition was not met within ${Math.round((options.timeoutMs ?? 0) / 1000)} s`,
            props,
          );
        }
        const untilProgress = options.onProgress ? nextProgress - now : Infinity;
        const waitMs = Math.max(1000, Math.min(deadline - now, untilProgress, nextReread - now, 20_000));
        let updates: Record<string, unknown> | undefined;
        try {
          updates = (await this.session.invoke(
            "WaitForUpdatesEx",
            collector.pc,
            { version, options: { $type: "WaitOptions", maxWaitSeconds: Math.ceil(waitMs / 1000) } },
            optionsOf(options.signal),
          )) as Record<string, unknown> | undefined;
        } catch (error) {
          // The session was renewed meanwhile: its collector is gone; read afresh in the new one.
          const renewed = this.session.generation !== collector.generation;
          if (!renewed || !isVimFault(error, "ManagedObjectNotFound")) throw error;
          collector = await open();
          version = "";
          continue;
        }
        if (updates) {
          version = String(updates.version ?? version);
          if (applyUpdates(updates, props)) throw new WaitedObjectGoneError(`${obj.value} was deleted`);
          if (news() && done(props)) return { ...props };
        }
        if (Date.now() >= nextReread) {
          // Check rather than trust that no notification was missed.
          const read = await this.read(content.propertyCollector, spec, options.signal);
          if (!read) throw new WaitedObjectGoneError(`${obj.value} was deleted`);
          props = read;
          nextReread = Date.now() + rereadEvery;
          if (news() && done(props)) return { ...props };
        }
        if (options.onProgress && Date.now() >= nextProgress) {
          options.onProgress(Date.now() - started, props);
          nextProgress = Date.now() + progressEvery;
        }
      }
    } catch (error) {
      if (options.signal?.aborted) throw cancellation(options.signal, `waiting on ${obj.value}`);
      throw error;
    } finally {
      await this.session.invoke("DestroyPropertyCollector", collector.pc, {}).catch(() => undefined);
    }
  }

  /** Reads the filter's properties directly; undefined when the object no longer exists. */
  private async read(
    pc: MoRef,
    spec: DataObject,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown> | undefined> {
    const result = (await this.session.invoke(
      "RetrievePropertiesEx",
      pc,
      { specSet: [{ ...spec, reportMissingObjectsInResults: true }], options: { $type: "RetrieveOptions" } },
      optionsOf(signal),
    )) as Record<string, unknown> | undefined;
    const found = list(result?.objects as Record<string, unknown>[] | Record<string, unknown> | undefined)[0];
    if (!found) return undefined;
    const missing = list(found.missingSet as Record<string, unknown>[] | Record<string, unknown>);
    if (
      missing.some(
        (m) =>
          (m.fault as { fault?: { $type?: unknown } } | undefined)?.fault?.$type === "ManagedObjectNotFound",
      )
    ) {
      return undefined;
    }
    const props: Record<string, unknown> = {};
    for (const p of list(found.propSet as Record<string, unknown>[] | Record<string, unknown>)) {
      props[String(p.name)] = p.val;
    }
    return props;
  }
}

/** The properties as the condition sees them: extra config without VMware Tools' own keys. */
function relevant(props: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!("config.extraConfig" in props)) return props;
  return { ...props, "config.extraConfig": withoutToolsKeys(props["config.extraConfig"]) };
}

function optionsOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** Applies one WaitForUpdatesEx answer to `props`; true when the object left (was deleted). */
function applyUpdates(updates: Record<string, unknown>, props: Record<string, unknown>): boolean {
  let gone = false;
  for (const fs of list(updates.filterSet as Record<string, unknown>[] | Record<string, unknown>)) {
    for (const os of list(fs.objectSet as Record<string, unknown>[] | Record<string, unknown>)) {
      if (os.kind === "leave") gone = true;
      for (const c of list(os.changeSet as Record<string, unknown>[] | Record<string, unknown>)) {
        if (c.op === "remove") delete props[String(c.name)];
        else props[String(c.name)] = c.val;
      }
    }
  }
  return gone;
}
