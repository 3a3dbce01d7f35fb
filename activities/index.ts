export { createActivities, type Activities, type ActivityDeps } from './createActivities';
export { createFasClient, FasRejectedError, type FasClient } from './fasClient';
