import type { Command } from "commander";
import { CdlInputError } from "../../lib/cdl/cdl.header.ts";
import { CdlImportInputParser } from "../../lib/cdl/cdl.import.spec.ts";
import { importCdl } from "../../lib/cdl/cdl.import.ts";
import { loadConfig } from "../../lib/config/config.load.ts";
import { describeIssues } from "../../lib/contracts/issue.lines.ts";
import { ReaderError } from "../../lib/errors/reader.errors.ts";
import { UnsupportedCrsError } from "../../lib/raster/geokeys.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { InputError } from "../cli.errors.ts";

interface ImportOptions {
  year: string;
  state?: string[];
}

export function registerCdlCommand(program: Command): void {
  const cdl = program.command("cdl").description("CDL label rasters in the configured storage");
  cdl
    .command("import")
    .description(
      "import a CDL GeoTIFF (USDA's national {year}_30m_cdls.tif or .zip, or a CropScape state extract) " +
        "as one COG per state at <cdl>/<year>/CDL_<year>_<fips>.tif",
    )
    .argument("<source>", "a file, s3://bucket/key or https:// URL")
    .requiredOption("--year <year>", "the CDL's year")
    .option(
      "--state <states...>",
      "states to write (postal code or name); default: every state the raster labels at least half of",
    )
    .action(async (source: string, options: ImportOptions) => {
      const raw = { source, year: options.year, ...(options.state ? { state: options.state } : {}) };
      const parsed = CdlImportInputParser.safeParse(raw);
      if (!parsed.success) throw new InputError(`cdl import: ${describeIssues(parsed.error, raw)}`);
      const config = loadConfig();
      const s3 = createS3Client(config);
      try {
        const written = await importCdl(parsed.data, { s3, config, log: (line) => console.log(line) });
        console.log(`${written.length} state raster(s) written for ${parsed.data.year}`);
      } catch (error) {
        if (
          error instanceof CdlInputError ||
          error instanceof UnsupportedCrsError ||
          error instanceof ReaderError
        )
          throw new InputError(`cdl import: ${error.message}`);
        throw error;
      } finally {
        s3.destroy();
      }
    });
}
