/** Martello's version: what `martello --version` prints and `martello_build_info` says. */
export const VERSION = '0.1.0';
