/**
 * How far apart the clocks of the SAS instances and the store's database may be: a token's `iat` and `exp` are
 * checked with this tolerance, and an account revocation's cut-off (taken from the database's clock) reaches this
 * far past it, so a token minted by a SAS whose clock runs ahead, just before the revocation, is still covered.
 */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 5;
