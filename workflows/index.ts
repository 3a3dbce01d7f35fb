export { CreateWebchatToken } from './createWebchatToken';
