"""BLUPF90 files: the layouts of the manual, read back; solutions mapped to original ids."""
import numpy as np
import pandas as pd
import pytest

from locusflow.breed.blupf90 import read_snp_file, read_solutions, write_blupf90
from locusflow.errors import InputError


def test_roundtrip_and_layouts(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.array(["A1", "pig_0002", "B3"])
    g = rng.integers(0, 3, size=(3, 7)).astype(float)
    g[1, 4] = np.nan
    files = write_blupf90(tmp_path, ids, [1.5, np.nan, -0.25], g,
                          covariates=pd.DataFrame({"sex": [1, 2, 1]}), var_g=0.3, var_e=0.7)
    lines = files["snp"].read_text().splitlines()
    assert lines[1] == "pig_0002 " + "".join(["5" if np.isnan(v) else str(int(v)) for v in g[1]])
    assert len({len(x) for x in lines}) == 1                      # fixed width
    rid, rg = read_snp_file(files["snp"])
    assert rid.tolist() == ids.tolist()
    np.testing.assert_array_equal(np.isnan(rg), np.isnan(g))
    np.testing.assert_array_equal(rg[~np.isnan(g)], g[~np.isnan(g)])
    data = files["data"].read_text().split("\n")
    assert data[0] == "1.5 1 1 A1" and data[1] == "-0.25 1 1 B3"      # animal without a record left out
    par = files["par"].read_text()
    assert "EFFECT\n4 cross alpha\nRANDOM\nanimal" in par and "SNP_FILE\nsnp.txt" in par


def test_bad_snp_file(tmp_path):
    p = tmp_path / "snp.txt"
    p.write_text("A 0120\nB 01x0\n")
    with pytest.raises(InputError, match="row 2"):
        read_snp_file(p)


def test_solutions_to_original_ids(tmp_path):
    (tmp_path / "solutions").write_text("trait/effect level  solution\n1 1 1 10.0\n1 2 1 0.5\n1 2 2 -0.2\n")
    (tmp_path / "renadd02.ped").write_text("2 0 0 3 0 0 0 0 0 pigB\n1 0 0 3 0 0 0 0 0 pigA\n")
    sol = read_solutions(tmp_path / "solutions", tmp_path / "renadd02.ped", effect=2)
    assert sol.set_index("id")["solution"].to_dict() == {"pigB": -0.2, "pigA": 0.5}
