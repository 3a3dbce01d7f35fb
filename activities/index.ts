export { createActivities, type Activities, type AccountReader, type ActivityDeps } from './createActivities';
export { createFasClient, FasRejectedError, type FasClient } from './fasClient';
