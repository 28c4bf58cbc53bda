/** The pools' default task queues (the configuration's `taskQueues` can name others). */
export const DefaultTaskQueues = { cpu: "crop-map-cpu", inference: "crop-map-inference" } as const;
