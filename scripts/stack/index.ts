export { defaultPorts, freePorts, randomPorts, type StackPorts } from './ports';
export { terminate, waitForHttp, waitForTemporal, waitForWorker } from './readiness';
export { startStack, type Stack, type StackOptions } from './startStack';
export { devServerDbFile, parseHostPort, temporalDevServerArgs } from './temporalDevServer';
