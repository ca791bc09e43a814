"""The target checker reads recorded results and must fail on a missed or missing target, and skip
(not pass) the targets of a profile that was not run."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_targets", ROOT / "scripts" / "check_targets.py")
check_targets = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_targets)


def _result(notebook, metrics, profile="workshop", kind="full", seconds=100.0):
    return {"notebook": notebook, "profile": profile, "data_kind": kind, "run_seconds": seconds,
            "metrics": {k: {"value": v} for k, v in metrics.items()}}


def _good():
    return [
        _result("01_mlp_autoencoder", {"mlp_ae_k32_test_mse": 0.010, "pca_k32_test_mse": 0.015}),
        _result("02_deep_autoencoder", {
            "deep_ae_test_mse_by_k": {"2": 0.028, "64": 0.009},
            "pca_test_mse_by_k": {"2": 0.046, "64": 0.010},
            "probe_acc_code32": 0.83,
        }),
        _result("03_convolutional_autoencoder", {"conv_ae_latent64_test_mse": 0.0048}),
        _result("04_denoising_and_restoration", {
            "denoise_gauss0.2_test_mse": 0.0044,
            "median_filter_gauss0.2_test_mse": 0.018,
            "gaussian_filter_gauss0.2_test_mse": 0.012,
        }),
        _result("05_variational_autoencoder", {
            "vae_test_nll_iw": {"nats": 230.5, "k": 1000, "test_images": 10000, "test_binarize_seed": 1234},
        }),
        _result("06_beta_and_conditional_vae", {
            "cvae_class_accuracy": 0.93,
            "beta_sweep": {str(b): {"rate": 40 / b, "distortion": 200 + 10 * b} for b in (0.5, 1, 2, 4, 8)},
        }),
        _result("07_adversarial_autoencoders", {
            "aae_prior_match": {p: {"ratio": 1.25, "worst_ratio": 1.8, "worst_scale": 0.25, "n": 2000}
                                for p in ("gaussian", "mixture", "swiss_roll")},
            "vaegan_frechet": 40.0,
            "vae_frechet": 55.0,
            "train_seconds": 200.0,
        }),
        _result("08_anomaly_detection", {
            "anomaly_auroc_mean": {"PCA": 0.90, "-ELBO-H": 0.92, "combined": 0.95},
            "ood_auroc": {"before": {"glyphs": 0.2, "noise": 1.0}, "after": {"glyphs": 0.99, "noise": 0.1}},
        }),
        _result("09_learned_compression", {
            "codec_rd_curve": {"100": {"bytes_per_image": 50.0, "payload_bytes": 45.0, "estimated_bits": 355.0,
                                       "psnr": 23.5},
                               "600": {"bytes_per_image": 80.0, "payload_bytes": 75.0, "estimated_bits": 590.0,
                                       "psnr": 30.5}},
            "webp_rd_curve": [{"bytes": 100.0, "psnr": 21.0}, {"bytes": 140.0, "psnr": 26.0},
                              {"bytes": 200.0, "psnr": 31.0}],
            "jpeg_rd_curve": [{"bytes": 370.0, "psnr": 18.0}, {"bytes": 500.0, "psnr": 27.0},
                              {"bytes": 600.0, "psnr": 32.0}],
        }),
        _result("10_vq_vae", {
            "vqvae_test_mse": 0.0048, "codebook_usage_final": 0.95, "vqvae_cond_class_accuracy": 0.86,
            "codebook_usage": {"plain (before the fixes)": 0.3, "fixed": 0.99}, "frechet_samples": 10000,
            "compare_frechet": {"VQ-VAE + transformer, T = 1": 20.0, "CVAE (06)": 60.0, "VAE-GAN (07)": 38.7},
        }),
        _result("11_sequence_autoencoders", {
            "text_vae": {"VAE, no remedy": {"kl": 0.01, "active_units": 0, "iw_vs_language_model": -0.01},
                         "all three": {"kl": 3.5, "active_units": 16, "iw_vs_language_model": 0.008}},
            "audio_cond_class_accuracy": 0.99, "audio_judge_real_test_accuracy": 1.0,
        }),
        _result("12_attention_and_masked_autoencoders", {
            "mae_masked_patch_mse": {"0.5": {"MAE": 0.05, "harmonic inpainting": 0.07},
                                     "0.75": {"MAE": 0.05, "harmonic inpainting": 0.10}},
            "few_label_accuracy": {
                "conv AE (03)": {m: {"100": _cell(a), "1000": _cell(b)} for m, a, b in
                                 (("scratch", 0.70, 0.80), ("probe", 0.70, 0.80), ("finetune", 0.76, 0.83))},
                "MAE": {m: {"100": _cell(a), "1000": _cell(b)} for m, a, b in
                        (("scratch", 0.60, 0.72), ("probe", 0.65, 0.73), ("finetune", 0.64, 0.77))},
                "MAE, pixel targets": {"probe": {"100": _cell(0.63), "1000": _cell(0.71)}},
            },
        }),
    ]


def _cell(mean, seeds=3, std=0.01):
    return {"mean": mean, "std": std, "accuracies": [mean] * seeds}


def _status(rows):
    return {name: status for name, status, _ in rows}


def _both_profiles():
    """The same good numbers recorded once in each profile (two results folders read together)."""
    results = _good()
    full = _good()
    for r in full:
        r["profile"] = "full"
    return results, full


def test_all_targets_pass_on_good_results():
    workshop, full = _both_profiles()
    rows = check_targets.check(workshop) + check_targets.check(full)
    passed = {name for name, status, _ in rows if status == "PASS"}
    assert all(status in ("PASS", "SKIP") for _, status, _ in rows)
    # every target passes in the run of its own profile
    every = {f"{nb}: {label} [{profile}]" for nb, targets in check_targets.TARGETS.items()
             for label, _, profile in targets}
    assert every <= passed
    assert {"full", "workshop"} == {profile for targets in check_targets.TARGETS.values() for *_, profile in targets}


def test_guided_class_accuracy_counts_only_at_the_fixed_scale_and_below_the_vaegan():
    def verdict(unguided, guided, guided_frechet, vaegan=38.7):
        _, full = _both_profiles()
        metrics = full[9]["metrics"]
        metrics["vqvae_cond_class_accuracy"]["value"] = unguided
        metrics["vqvae_guided_class_accuracy"] = {"value": guided}
        metrics["vqvae_guided_frechet"] = {"value": {k: guided_frechet for k in guided}}
        if vaegan is None:
            del metrics["compare_frechet"]["value"]["VAE-GAN (07)"]
        rows = [row for row in check_targets.check(full) if "class accuracy of samples" in row[0]]
        assert len(rows) == 1
        return rows[0][1], rows[0][2]

    status, text = verdict(0.849, {"1": 0.849, "1.5": 0.88}, 10.0)
    assert status == "PASS" and "guidance s = 1.5 0.8800" in text
    assert verdict(0.849, {"1": 0.849, "1.5": 0.84, "3": 0.95}, 10.0)[0] == "FAIL"  # only s = 1.5 counts
    assert verdict(0.849, {"1": 0.849, "1.5": 0.88}, 40.0)[0] == "FAIL"  # accuracy bought with realism
    assert verdict(0.849, {"1": 0.849, "1.5": 0.88}, 10.0, vaegan=None)[0] == "FAIL"
    assert verdict(0.86, {"1": 0.86, "1.5": 0.80}, 40.0)[0] == "PASS"  # unguided is enough


def test_each_missed_target_fails():
    bad_w, bad_f = _both_profiles()
    for bad in (bad_w, bad_f):
        bad[0]["metrics"]["mlp_ae_k32_test_mse"]["value"] = 0.014  # 0.93 x PCA
        bad[1]["metrics"]["deep_ae_test_mse_by_k"]["value"]["64"] = 0.011  # worse than PCA at 64
        bad[1]["metrics"]["deep_ae_test_mse_by_k"]["value"]["2"] = 0.035  # only 24 % below PCA at k=2
        bad[1]["metrics"]["probe_acc_code32"]["value"] = 0.81
        bad[2]["metrics"]["conv_ae_latent64_test_mse"]["value"] = 0.0051
        bad[3]["metrics"]["denoise_gauss0.2_test_mse"]["value"] = 0.013  # misses, and loses to blur
        bad[4]["metrics"]["vae_test_nll_iw"]["value"]["k"] = 100  # a looser bound does not count
        bad[5]["metrics"]["cvae_class_accuracy"]["value"] = 0.89
        bad[5]["metrics"]["beta_sweep"]["value"]["8"]["distortion"] = 230.0  # not monotone
        bad[6]["metrics"]["aae_prior_match"]["value"]["mixture"]["worst_ratio"] = 12.0  # fine at the median only
        bad[6]["metrics"]["vaegan_frechet"]["value"] = 55.0  # a tie is not "lower"
        bad[9]["metrics"]["codebook_usage_final"]["value"] = 0.85  # low error but too few codes in use
        bad[9]["metrics"]["vqvae_cond_class_accuracy"]["value"] = 0.84
        bad[9]["metrics"]["codebook_usage"]["value"]["fixed"] = 0.88
        bad[11]["metrics"]["few_label_accuracy"]["value"]["conv AE (03)"]["finetune"]["1000"]["mean"] = 0.815
        bad[10]["metrics"]["audio_cond_class_accuracy"]["value"] = 0.79
    bad_w[11]["metrics"]["mae_masked_patch_mse"]["value"]["0.75"]["MAE"] = 0.10  # a tie does not beat it
    bad_w[11]["metrics"]["few_label_accuracy"]["value"]["MAE"]["finetune"]["100"]["mean"] = 0.605  # within spread
    bad_w[10]["metrics"]["text_vae"]["value"]["all three"]["iw_vs_language_model"] = 0.031  # code used, NLL too high
    bad_f[10]["metrics"]["text_vae"]["value"]["VAE, no remedy"]["kl"] = 0.5  # no collapse shown
    bad_w[9]["metrics"]["compare_frechet"]["value"]["VQ-VAE + transformer, T = 1"] = 38.7  # a tie is not "below"
    bad_f[9]["metrics"]["frechet_samples"]["value"] = 5000  # below, but on too few samples
    bad_w[1]["run_seconds"] = 301.0
    rows = check_targets.check(bad_w) + check_targets.check(bad_f)
    failed = {name for name, status, _ in rows if status == "FAIL"}
    assert failed == {
        "01_mlp_autoencoder: non-linear AE <= 0.9 x PCA at k=32 [workshop]",
        "02_deep_autoencoder: deep AE >= 30% better than PCA at k=2 [workshop]",
        "02_deep_autoencoder: deep AE beats PCA at every k [full]",
        "02_deep_autoencoder: linear probe on code32 >= 0.82 [full]",
        "02_deep_autoencoder: workshop wall time",
        "03_convolutional_autoencoder: conv AE latent 64 test MSE <= 0.0050 [full]",
        "04_denoising_and_restoration: denoising test MSE <= 0.0045 at sigma=0.2 [full]",
        "04_denoising_and_restoration: denoiser beats the tuned classical filters [workshop]",
        "05_variational_autoencoder: VAE test NLL <= 231 nats (IW, k=1000) [full]",
        "06_beta_and_conditional_vae: CVAE class accuracy >= 0.90 [full]",
        "06_beta_and_conditional_vae: beta sweep: >= 5 values, rate down and distortion up [workshop]",
        "07_adversarial_autoencoders: AAE codes match the mixture prior at every kernel scale [full]",
        "07_adversarial_autoencoders: VAE-GAN Fréchet distance below the VAE's [workshop]",
        "10_vq_vae: codebook fixes: usage >= 0.9, above the plain codebook's [workshop]",
        "10_vq_vae: VQ-VAE samples' Fréchet distance below the VAE-GAN's [workshop]",
        "10_vq_vae: VQ-VAE test MSE <= 0.0050 with >= 90 % of the codebook used [full]",
        "10_vq_vae: class accuracy of samples at T = 1 >= 0.85 (10,000 samples; unguided or guidance 1.5) [full]",
        "10_vq_vae: Fréchet distance below the VAE-GAN's on 10,000 samples [full]",
        "11_sequence_autoencoders: sentence VAE: collapse without remedies, code in use with them, NLL within 3 % of "
        "the LM [workshop]",
        "11_sequence_autoencoders: sentence VAE: collapse without remedies, code in use with them, NLL within 3 % of "
        "the LM [full]",
        "11_sequence_autoencoders: spoken digits: conditional samples heard as the requested digit >= 80 % [workshop]",
        "11_sequence_autoencoders: spoken digits: conditional samples heard as the requested digit >= 80 % [full]",
        "12_attention_and_masked_autoencoders: MAE beats harmonic inpainting at 75 % masking [workshop]",
        "12_attention_and_masked_autoencoders: MAE fine-tuned beats the same transformer from scratch "
        "(100 and 1,000 labels) [workshop]",
        "12_attention_and_masked_autoencoders: best pretrained encoder fine-tuned >= 5 points over the best "
        "scratch network with 100 labels, >= 2 with 1,000 [workshop]",
        "12_attention_and_masked_autoencoders: best pretrained encoder fine-tuned >= 5 points over the best "
        "scratch network with 100 labels, >= 2 with 1,000 [full]",
    }


def test_missing_or_smoke_results_do_not_count():
    smoke = _good()
    smoke[0]["profile"] = "smoke"
    status = _status(check_targets.check(smoke[:1]))
    assert status["01_mlp_autoencoder: non-linear AE <= 0.9 x PCA at k=32 [workshop]"] == "SKIP"
    assert "01_mlp_autoencoder: workshop wall time" not in status  # a smoke run's time is not judged
    assert all(s == "FAIL" for name, s in status.items() if name.startswith("02_"))


def test_subset_data_is_skipped_and_main_exits_on_a_failure(tmp_path, capsys):
    results = _good()
    results[2]["data_kind"] = "subset"
    status = _status(check_targets.check(results))
    assert status["03_convolutional_autoencoder: conv AE latent 64 test MSE <= 0.0050 [full]"] == "SKIP"
    import json

    for r in results:
        (tmp_path / f"{r['notebook']}.json").write_text(json.dumps(r))
    assert check_targets.main(["--dir", str(tmp_path)]) == 0  # full targets skipped, workshop ones pass
    results[0]["metrics"]["mlp_ae_k32_test_mse"]["value"] = 0.014
    (tmp_path / "01_mlp_autoencoder.json").write_text(json.dumps(results[0]))
    assert check_targets.main(["--dir", str(tmp_path)]) == 1
    assert "1 failed" in capsys.readouterr().out


def test_wall_time_counts_the_whole_notebook():
    results = _good()
    results[3]["run_seconds"] = 340.0  # training alone would fit: evaluation counts too
    results[3]["metrics"]["train_seconds"] = {"value": 260.0}
    row = next(r for r in check_targets.check(results) if r[0] == "04_denoising_and_restoration: workshop wall time")
    assert row[1] == "FAIL" and "340 s" in row[2] and "training 260 s" in row[2]


def test_a_prior_match_recorded_without_scales_does_not_count():
    results = _good()
    for r in results:
        r["profile"] = "full"
    del results[6]["metrics"]["aae_prior_match"]["value"]["gaussian"]["worst_ratio"]
    row = next(r for r in check_targets.check(results) if r[0] ==
               "07_adversarial_autoencoders: AAE codes match the Gaussian prior at every kernel scale [full]")
    assert row[1] == "FAIL" and "cannot see shape" in row[2]


def test_the_best_learned_codec_is_judged_at_every_psnr_from_24_to_30_db():
    _, full = _both_profiles()
    nb09 = next(r for r in full if r["notebook"] == "09_learned_compression")
    name = "09_learned_compression: learned codec <= 0.5 x WebP's bytes at every PSNR in 24-30 dB (10,000 test " \
           "images) [full]"
    overhead = "09_learned_compression: payload within 5 % of the estimated rate [workshop]"

    def status(label, results=full):
        return next(s for n, s, _ in check_targets.check(results) if n == label)

    factorised = nb09["metrics"]["codec_rd_curve"]["value"]
    assert status(name) == "PASS"  # 50 B at 23.5 dB and 80 B at 30.5 dB: under half of WebP everywhere between
    # context models at every lambda, at twice the factorised files: the WebP target fails on them alone
    nb09["metrics"]["context_rd_curve"] = {"value": {
        m: {**p, "bytes_per_image": 2 * p["bytes_per_image"]} for m, p in factorised.items()}}
    assert status(name) == "FAIL"
    # two PSNR-loss models: judged on them, and only on them
    nb09["metrics"]["psnr_loss_rd_curve"] = {"value": {m: dict(p) for m, p in factorised.items()}}
    assert status(name) == "PASS"
    # a curve that stops short of 30 dB does not pass, however good its points
    nb09["metrics"]["psnr_loss_rd_curve"]["value"]["600"].update(bytes_per_image=60.0, psnr=29.5)
    row = next(r for r in check_targets.check(full) if r[0] == name)
    assert row[1] == "FAIL" and "not all of 24 to 30 dB" in row[2]
    # both ends under half of WebP, the middle not: the grid between the points finds it
    nb09["metrics"]["webp_rd_curve"]["value"] = [{"bytes": 100.0, "psnr": 21.0}, {"bytes": 105.0, "psnr": 28.0},
                                                 {"bytes": 400.0, "psnr": 31.0}]
    nb09["metrics"]["psnr_loss_rd_curve"]["value"]["600"].update(bytes_per_image=80.0, psnr=30.5)
    row = next(r for r in check_targets.check(full) if r[0] == name)
    assert row[1] == "FAIL" and "at 28 dB" in row[2]
    # a model writing 6 % over its estimate fails the overhead target (the workshop run's)
    workshop, _ = _both_profiles()
    nb09w = next(r for r in workshop if r["notebook"] == "09_learned_compression")
    nb09w["metrics"]["psnr_loss_rd_curve"] = {"value": {"150": {"bytes_per_image": 60.0, "payload_bytes": 50.5,
                                                                "estimated_bits": 400.0, "psnr": 25.0}}}
    assert status(overhead, workshop) == "PASS"
    nb09w["metrics"]["psnr_loss_rd_curve"]["value"]["150"]["payload_bytes"] = 1.06 * 400.0 / 8
    assert status(overhead, workshop) == "FAIL"
