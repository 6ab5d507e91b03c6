/**
 * QR codes for machine labels: each code opens that machine's card on the board.
 * @module
 */
import QRCode from "qrcode";

/**
 * The absolute URL a machine's QR code encodes: `<origin>/?building=<bid>&m=<machineId>`.
 * `origin` is PUBLIC_URL when configured, else the request's origin.
 */
export function machineCardUrl(
  origin: string,
  buildingId: string,
  machineId: string,
): string {
  const u = new URL("/", origin);
  u.searchParams.set("building", buildingId);
  u.searchParams.set("m", machineId);
  return u.toString();
}

/** Renders `text` as a standalone SVG QR code (error correction M, quiet zone 4). */
export async function qrSvg(text: string): Promise<string> {
  return await QRCode.toString(text, {
    type: "svg",
    errorCorrectionLevel: "M",
    margin: 4,
  });
}
