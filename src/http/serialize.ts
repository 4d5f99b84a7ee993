/** Dates go out as ISO 8601 strings (or null). */
export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export function listOf<T extends { id: string }>(items: T[], hasMore: boolean): ListEnvelope<T> {
  const last = items[items.length - 1];
  return { object: 'list', data: items, has_more: hasMore, next_cursor: hasMore && last ? last.id : null };
}
