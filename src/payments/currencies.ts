/** Supported ISO 4217 currencies and their minor-unit exponents (amounts are integers in that unit). */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  aud: 2, brl: 2, cad: 2, chf: 2, cny: 2, czk: 2, dkk: 2, eur: 2, gbp: 2, hkd: 2, huf: 2, inr: 2,
  mxn: 2, nok: 2, nzd: 2, pln: 2, ron: 2, sek: 2, sgd: 2, usd: 2, zar: 2,
  clp: 0, isk: 0, jpy: 0, krw: 0, vnd: 0,
  bhd: 3, jod: 3, kwd: 3, omr: 3, tnd: 3,
};

/**
 * ASCII letters are checked before any case folding: Unicode case mapping turns some other letters
 * into ASCII ones (the Kelvin sign U+212A lower-cases to "k"), which would make "\u212Awd" KWD.
 */
export function isSupportedCurrency(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Za-z]{3}$/.test(code) && Object.hasOwn(CURRENCY_EXPONENTS, code.toLowerCase());
}

/** The largest amount accepted, in minor units, whatever the currency (as card networks cap it). */
export const MAX_AMOUNT = 99_999_999;
