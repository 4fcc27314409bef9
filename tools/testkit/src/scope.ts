/**
 * What one test opened (temporary directories, in-process servers, clients),
 * released by one `cleanup()` in afterEach, last opened first: clients before
 * the server they talk to, the server before its data directory.
 */
import { RawClient, type RawConnectOptions } from './raw-client.js';
import { tempDir } from './spawn.js';

export class TestScope {
  private readonly releases: Array<() => unknown> = [];

  /** A fresh temporary directory, removed at cleanup. */
  tempDir(prefix = 'pharaoh-test-'): string {
    const d = tempDir(prefix);
    this.releases.push(d.remove);
    return d.dir;
  }

  /** Close `thing` (e.g. a RunningServer) at cleanup; returns it. */
  closeLater<T extends { close(): unknown }>(thing: T): T {
    this.releases.push(() => thing.close());
    return thing;
  }

  /** A RawClient to `url`, terminated at cleanup. */
  async connect(url: string, options?: RawConnectOptions): Promise<RawClient> {
    const c = await RawClient.connect(url, options);
    this.releases.push(() => c.terminate());
    return c;
  }

  /** Release everything, last opened first; every release runs even if one fails (the first failure is rethrown). */
  async cleanup(): Promise<void> {
    let first: unknown;
    for (const release of this.releases.splice(0).reverse()) {
      try {
        await release();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
