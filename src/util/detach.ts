/**
 * A copy of a string that does not share memory with the string it was cut from (V8 keeps a slice's parent
 * alive). Line text is a slice of a 1 MiB input chunk: anything kept from it must be detached.
 */
export function detach(s: string): string {
  return (' ' + s).slice(1);
}
