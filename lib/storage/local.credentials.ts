/**
 * Credentials of the local S3 server (the dev stack's and the tests'). They guard nothing
 * (loopback only, throwaway data) and are used only when the S3 endpoint is on loopback and the
 * environment names no credentials.
 */
export const LocalS3Credentials = {
  accessKeyId: "crop-map-local",
  secretAccessKey: "crop-map-local-secret",
} as const;
