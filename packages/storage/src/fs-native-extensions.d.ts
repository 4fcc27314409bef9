// fs-native-extensions ships no types; only what the storage layer uses is declared.
declare module 'fs-native-extensions' {
  /** Exclusive (or shared) OFD lock on `fd`; false if another holder has it. Throws on other errors. */
  export function tryLock(fd: number, opts?: { shared?: boolean }): boolean;
  export function unlock(fd: number): void;
}
