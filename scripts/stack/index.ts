export { defaultPorts, freePorts, randomPorts, type StackPorts } from './ports';
export { spawnLogged, type OutputSink } from './processes';
export { terminate, waitForHttp, waitForTemporal } from './readiness';
export { serviceArgs, serviceEntries, type Build, type ServiceName } from './serviceArgs';
export { startStack, type Stack, type StackOptions } from './startStack';
