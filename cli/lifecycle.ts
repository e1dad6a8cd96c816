// What `serve` runs, as a list: each component is started in order and the
// list stops them in reverse, so whatever was started last (the listeners)
// stops first and whatever the others use (the Kubernetes connection, the
// caches) stops last. A failed start stops what had started, so a start-up
// error never leaves a port open or a watch running.
export interface Component {
  /** For the log when stopping fails. */
  readonly name: string;
  stop(): void | Promise<void>;
}

export class Lifecycle {
  private readonly running: Component[] = [];
  private stopping: Promise<void> | undefined;

  /** Runs `start` and, once it succeeds, keeps what it returns to stop later. */
  async start<T extends Component>(start: () => T | Promise<T>): Promise<T> {
    const component = await start();
    this.running.push(component);
    return component;
  }

  /** Adds something already running. */
  add(component: Component): void {
    this.running.push(component);
  }

  /** Stops every component, last started first; a failing stop does not keep the others running. */
  stop(onError: (name: string, error: unknown) => void = () => undefined): Promise<void> {
    this.stopping ??= (async () => {
      while (this.running.length > 0) {
        const component = this.running.pop() as Component;
        try {
          await component.stop();
        } catch (e) {
          onError(component.name, e);
        }
      }
    })();
    return this.stopping;
  }
}
