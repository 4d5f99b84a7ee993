import { z } from 'zod';

export const MAX_PAGE_SIZE = 200;

/** `limit` (1-200, default 20) and `starting_after` (an id of the previous page's last item). */
export const listQuerySchema = z.object({
  limit: z.coerce
    .number({ message: 'limit must be an integer from 1 to 200' })
    .int({ message: 'limit must be an integer from 1 to 200' })
    .min(1, { message: 'limit must be an integer from 1 to 200' })
    .max(MAX_PAGE_SIZE, { message: 'limit must be an integer from 1 to 200' })
    .default(20),
  starting_after: z.string().min(1).max(100).optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/** Repos fetch limit + 1 rows; this turns them into a page. */
export function toPage<T>(rows: T[], limit: number): Page<T> {
  return { items: rows.slice(0, limit), hasMore: rows.length > limit };
}
