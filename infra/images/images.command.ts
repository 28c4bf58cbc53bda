import type { Command } from "commander";
import { InfrastructureError, optionValue } from "../../scripts/cli.errors.ts";
import { ensureLocalBase } from "./base.image.ts";
import { dockerUnavailable } from "./docker.cli.ts";
import { buildWorkerImages, checkoutBuildId, ImageRefParser, ImageTagParser } from "./images.build.ts";

export function registerImagesCommand(program: Command): void {
  const images = program
    .command("images")
    .description("the worker images (infra/docker), built on this host's Docker daemon");
  images
    .command("build")
    .description(
      "build the CPU-pool image and a CPU build of the inference image (gpu.Dockerfile on a CPU base), tagged with the build id; without --base, on a minimal Debian 13 made here with debootstrap (once, cached by tag)",
    )
    .option(
      "--base <image>",
      "base image for NODE_IMAGE (and CUDA_IMAGE): Node 20 with npm and a user `node` (uid 1000)",
    )
    .option(
      "--build-id <id>",
      "image tag and Worker Deployment build id (default: <version>-<commit>[-dirty])",
    )
    .action(async (options: { base?: string; buildId?: string }) => {
      const base =
        options.base === undefined ? undefined : optionValue("--base", options.base, ImageRefParser);
      const buildId =
        options.buildId === undefined
          ? await checkoutBuildId()
          : optionValue("--build-id", options.buildId, ImageTagParser);
      const unavailable = await dockerUnavailable();
      if (unavailable) throw new InfrastructureError(`${unavailable}; start it (as root: dockerd)`);
      const log = (line: string) => console.error(line);
      const built = await buildWorkerImages(base ?? (await ensureLocalBase(log)), buildId, log);
      for (const image of built)
        console.log(
          `${image.tag.padEnd(44)} ${(image.sizeBytes / 1e6).toFixed(0).padStart(6)} MB  ${image.dockerfile}`,
        );
    });
}
