/** The training form's number inputs, validated before anything runs. */

/**
 * `text` (an input's value) as a whole number in [min, max], or the message the page shows instead. An empty or
 * non-numeric value, a fraction, or one out of range is an error: never silently a default.
 */
export function readWholeNumber(
  text: string,
  label: string,
  min: number,
  max = Infinity,
): { value: number } | { error: string } {
  const t = text.trim();
  // A number input's value is '' for text that is not a number; Number('') would be 0.
  const value = t === '' ? NaN : Number(t);
  if (Number.isSafeInteger(value) && value >= min && value <= max) return { value };
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return {
    error: `${label} must be a whole number ${range}, got ${t ? `"${t}"` : 'nothing (or not a number)'}`,
  };
}
