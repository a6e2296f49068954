/**
 * Values' UTF-8 bytes, packed in 1 MiB blocks, each value preceded by its length as a varint (one
 * byte below 128). A value is named by its offset, `block << 20 | position`. Like PagedArray, it
 * grows by adding blocks rather than by copying; the first block grows by doubling so a small
 * table stays small. A value longer than a block gets a block of its own.
 */
const BLOCK_BITS = 20;
const BLOCK = 1 << BLOCK_BITS;
const FIRST_BLOCK = 1024;
/** Blocks are numbered by 12 bits of a uint32 offset. */
const MAX_BLOCKS = 2 ** (32 - BLOCK_BITS);

export class ByteArena {
  /** A block is undefined once dropped by `dropBefore`. */
  private blocks: (Buffer | undefined)[] = [Buffer.alloc(FIRST_BLOCK)];
  /** Write position in the last block. */
  private pos = 0;

  /** Bytes allocated, for diagnostics. */
  get allocated(): number {
    let n = 0;
    for (const b of this.blocks) n += b?.length ?? 0;
    return n;
  }

  /** Stores `src[start, end)`; returns its offset. */
  append(src: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const need = varintLength(length) + length;
    let b = this.blocks.length - 1;
    let block = this.blocks[b]!;
    if (this.pos + need > block.length) {
      if (block.length < BLOCK && this.pos + need <= BLOCK) {
        let size = block.length;
        while (size < this.pos + need) size *= 2;
        block = Buffer.concat([block.subarray(0, this.pos)], size);
      } else {
        if (this.blocks.length >= MAX_BLOCKS) throw new RangeError("value table full (4 GiB)");
        block = Buffer.alloc(Math.max(BLOCK, need));
        b++;
        this.pos = 0;
      }
      this.blocks[b] = block;
    }
    const offset = b * BLOCK + this.pos;
    let p = this.pos;
    for (let n = length; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        block[p++] = n;
        break;
      }
      block[p++] = (n & 0x7f) | 0x80;
    }
    // Byte by byte: a view per value for set() costs more than copying a short value.
    for (let i = start; i < end; i++) block[p++] = src[i]!;
    this.pos = p;
    return offset;
  }

  /** The block holding the value at `offset`; its bytes are `start(offset)` to `end(offset)`. */
  block(offset: number): Buffer {
    return this.blocks[offset >>> BLOCK_BITS]!;
  }

  start(offset: number): number {
    const block = this.block(offset);
    let p = offset & (BLOCK - 1);
    while (block[p]! & 0x80) p++; // varint continuation bytes
    return p + 1;
  }

  end(offset: number): number {
    const block = this.block(offset);
    let p = offset & (BLOCK - 1);
    let length = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = block[p++]!;
      length += (b & 0x7f) * shift;
      if (b < 0x80) return p + length;
    }
  }

  equals(offset: number, buf: Uint8Array, start: number, end: number): boolean {
    const e = this.end(offset);
    const s = this.start(offset);
    if (e - s !== end - start) return false;
    const block = this.block(offset);
    for (let i = start, j = s; i < end; i++, j++) if (buf[i] !== block[j]) return false;
    return true;
  }

  text(offset: number): string {
    return this.block(offset).toString("utf8", this.start(offset), this.end(offset));
  }

  /** Copies the value at `offset` of `from` here; returns its new offset. */
  copyFrom(from: ByteArena, offset: number): number {
    return this.append(from.block(offset), from.start(offset), from.end(offset));
  }

  /** Lets the blocks before the one holding `offset` be freed (compaction has moved past). */
  dropBefore(offset: number): void {
    for (let b = (offset >>> BLOCK_BITS) - 1; b >= 0 && this.blocks[b]; b--)
      this.blocks[b] = undefined;
  }
}

function varintLength(n: number): number {
  let bytes = 1;
  for (; n >= 128; n = Math.floor(n / 128)) bytes++;
  return bytes;
}
