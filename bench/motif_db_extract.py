"""Regenerate lib/locusflow/data/motifs/jaspar_core_vertebrates_subset.{jaspar,meme} (the small test/demo motif
database of locusflow.dnalm.motifs) from a JASPAR CORE vertebrates non-redundant TRANSFAC-format file.

Source used: JASPAR 2016 CORE vertebrates non-redundant, as mirrored by rsa-tools/motif_databases
(JASPAR/Jaspar_2016/jaspar_core_nonredundant_vertebrates_2016.tf, commit dfc2555). JASPAR is CC BY 4.0
(https://jaspar.elixir.no). Counts are copied unchanged; the MEME file holds count / column sum.

    python bench/motif_db_extract.py jaspar_core_nonredundant_vertebrates_2016.tf lib/locusflow/data/motifs
"""
import sys
from pathlib import Path

import numpy as np

KEEP = ["MA0139.1", "MA0079.3", "MA0506.1", "MA0095.2", "MA0028.2", "MA0062.2", "MA0076.2", "MA0060.2",
        "MA0108.2", "MA0018.2", "MA0024.3", "MA0088.2", "MA0148.3", "MA0114.3", "MA0102.3", "MA0099.2"]


def read_transfac(path):
    out, acc, name, rows = {}, None, None, []
    for line in Path(path).read_text().splitlines():
        if line.startswith("AC  "):
            acc, rows = line.split()[1], []
        elif line.startswith("ID  "):
            name = line[4:].strip()
        elif line[:1].isdigit() and acc:
            rows.append([float(x) for x in line.split()[1:5]])
        elif line.startswith("//") and acc:
            out[acc] = (name, np.array(rows))
            acc = None
    return out


def main(src, dest):
    db = read_transfac(src)
    dest = Path(dest)
    jas, meme = [], ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
                     "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for acc in KEEP:
        name, m = db[acc]
        jas.append(f">{acc}\t{name}")
        for b, col in zip("ACGT", m.T):
            jas.append(f"{b}  [ " + " ".join(f"{int(v):6d}" for v in col) + " ]")
        p = m / m.sum(1, keepdims=True)
        meme += [f"MOTIF {acc} {name}", f"letter-probability matrix: alength= 4 w= {len(m)} "
                 f"nsites= {int(round(m.sum(1).max()))} E= 0"]
        meme += ["  " + "  ".join(f"{v:.6f}" for v in row) for row in p]
        meme += [f"URL https://jaspar.elixir.no/matrix/{acc}", ""]
    (dest / "jaspar_core_vertebrates_subset.jaspar").write_text("\n".join(jas) + "\n")
    (dest / "jaspar_core_vertebrates_subset.meme").write_text("\n".join(meme))


if __name__ == "__main__":
    main(*sys.argv[1:3])
