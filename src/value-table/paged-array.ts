/**
 * A growable typed array kept in pages of 64 Ki elements. Past the first page, growing adds a page
 * instead of copying everything into an array twice the size: V8 frees a dropped ArrayBuffer only
 * at some later major GC, so with copies a growing table briefly holds old and new arrays, which
 * for a million entries is tens of MB over the steady size. The first page itself grows by
 * doubling, so a table of a few values stays a few hundred bytes.
 */
const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS;
const MASK = PAGE - 1;
const FIRST_PAGE = 16;

type Typed = Uint8Array | Uint32Array | Float64Array;

export class PagedArray<T extends Typed> {
  private pages: T[];

  constructor(private readonly make: (length: number) => T) {
    this.pages = [make(FIRST_PAGE)];
  }

  /** Elements there is room for. */
  get capacity(): number {
    const first = this.pages[0]!.length;
    return first < PAGE ? first : this.pages.length * PAGE;
  }

  get(i: number): number {
    return this.pages[i >>> PAGE_BITS]![i & MASK]!;
  }

  set(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS]![i & MASK] = v;
  }

  /** Makes room for at least `n` elements. */
  grow(n: number): void {
    const first = this.pages[0]!;
    if (first.length < PAGE && n > first.length) {
      let size = first.length;
      while (size < n && size < PAGE) size *= 2;
      const bigger = this.make(size);
      bigger.set(first);
      this.pages[0] = bigger;
    }
    while (this.capacity < n) this.pages.push(this.make(PAGE));
  }

  /** Gives back the room past the first `n` elements: whole pages, or all but a small first page
   * when few elements are left. */
  shrink(n: number): void {
    if (n > PAGE / 4) {
      this.pages.length = Math.ceil(n / PAGE);
      return;
    }
    let size = FIRST_PAGE;
    while (size < n) size *= 2;
    if (size >= this.pages[0]!.length) return;
    const small = this.make(size);
    small.set(this.pages[0]!.subarray(0, size));
    this.pages = [small];
  }
}
