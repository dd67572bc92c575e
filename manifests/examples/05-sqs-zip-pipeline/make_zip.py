"""Write the example's input: a ZIP of ten CSV files, five of orders (relevant) and five of inventory (not).

    python3 make_zip.py 7 batch-07.zip     # batch number (seeds the rows), output path

Standard library only; the same batch number always gives the same bytes. The rows a batch's order files hold
are `orders(batch, n)`, so a test can compute what the pipeline must write.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile

ORDER_FILES = 5
INVENTORY_FILES = 5
DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")


def orders(batch: int, n: int) -> list[tuple[str, str, str]]:
    """The rows (order_id, day, amount) of order file `n` of `batch`: 6 + n orders over three days."""
    return [(f"b{batch}-f{n}-o{i}", DAYS[(i + n) % len(DAYS)], f"{(batch * 7 + n * 3 + i) % 50 + 0.5:.2f}")
            for i in range(6 + n)]


def _csv(header: list[str], rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def make_zip(batch: int) -> bytes:
    """The ZIP of `batch`: orders-0.csv … orders-4.csv, inventory-0.csv … inventory-4.csv and a README."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)  # a fixed date: the same bytes every time

        add("README.txt", f"Batch {batch}: orders and inventory, one CSV file each.\n".encode())
        for n in range(ORDER_FILES):
            add(f"batch-{batch}/orders-{n}.csv", _csv(["order_id", "day", "amount"], orders(batch, n)))
        for n in range(INVENTORY_FILES):
            add(f"batch-{batch}/inventory-{n}.csv",
                _csv(["sku", "warehouse", "stock"], [(f"sku-{i}", f"w{n}", str(i * batch % 17)) for i in range(8)]))
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0].isdigit():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[1], "wb") as f:
        f.write(make_zip(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
