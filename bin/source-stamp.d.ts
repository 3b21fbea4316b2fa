/** Where the build records the stamp of the sources it compiled. */
export const STAMP_FILE: string;
/** The stamp of the build inputs under `root` as they are now. */
export function sourceStamp(root: string): string;
/** True when dist/ may run: an installed package, or a checkout whose dist/ was built from the sources there now. */
export function distIsFresh(root: string): boolean;
