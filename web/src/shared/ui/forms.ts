/** After a failed check, moves focus to the first field marked invalid (once the page re-rendered). */
export function focusFirstInvalid(form: EventTarget | null): void {
  const root = form instanceof HTMLElement ? form : null;
  setTimeout(() => root?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
}
