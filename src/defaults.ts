import path from "node:path";
import { projectRoot } from "./version.js";

/** The embedded default every command falls back on: the device model, the server model and the pool built for the device. */
export const DEFAULT_DEVICE_MODEL = path.join(projectRoot, "models", "device.gguf");
export const DEFAULT_SERVER_MODEL = path.join(projectRoot, "models", "server.gguf");
export const DEFAULT_POOL = path.join(projectRoot, "pools", "world");
