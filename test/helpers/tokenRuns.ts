import type { TokenRuns } from '../../api/tokenRuns';

/** For route tests of issuance only: a refresh reaching the runs fails the request (503), visibly. */
export const noRefresh: Pick<TokenRuns, 'runRefresh'> = {
  runRefresh: () => Promise.reject(new Error('refresh is not part of this test')),
};
