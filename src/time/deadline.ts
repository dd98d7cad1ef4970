/** A promise with a deadline: rejects with `error()` if `p` has not settled within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
