export { CreateWebchatToken } from './createWebchatToken';
export { RefreshWebchatToken } from './refreshWebchatToken';
