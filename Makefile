# Two commands do all the set-up:  `make course`  and  `make test`.
# Both create .venv (if missing) and install the pinned dependencies and course_lib first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.course-installed
PROFILE ?= workshop
# An offline bundle made by `make wheelhouse` (or copied from a USB stick): install from it alone.
WHEELHOUSE ?=
PIP_FROM := $(if $(strip $(WHEELHOUSE)),--no-index --find-links $(WHEELHOUSE)/wheels)

.DEFAULT_GOAL := help
.PHONY: help setup wheelhouse course publish test unit nbval browser-test targets lint lab data doctor lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "). Set PYTHON=python3.11 (or newer), e.g. make PYTHON=python3.12 course")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(PIP_FROM),,$(PY) -m pip install --quiet --upgrade pip)
	$(PY) -m pip install --quiet $(PIP_FROM) -c constraints.txt -e ".[dev]"
	$(if $(strip $(WHEELHOUSE)),COURSE_DATA_DIR=$(WHEELHOUSE)/fashion-mnist $(PY) -m course_lib.data fetch)
	$(PY) -m course_lib.runner kernel
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install pinned dependencies + course_lib (WHEELHOUSE=dir: offline)

wheelhouse: $(STAMP)  ## download every pinned wheel (Linux x86-64, macOS arm64) + the data into build/wheelhouse
	$(PY) scripts/make_wheelhouse.py

course: $(STAMP)  ## execute every notebook (default profile; NB=05 for one) into build/, with progress and a final table
	$(PY) -m course_lib.runner run --profile $(PROFILE) $(if $(NB),--only $(NB))

publish: $(STAMP)  ## like `course`, then copy the stripped executed notebooks into notebooks/ and results into README.md
	$(PY) -m course_lib.runner run --profile workshop --publish
	$(PY) -m course_lib.results readme README.md
	$(PY) -m course_lib.results timings docs/instructors.md

test: $(STAMP)  ## unit tests, notebook checks, every notebook in the smoke profile, ruff
	$(PY) -m ruff check course_lib tests notebooks scripts
	$(PY) -m pytest tests
	$(MAKE) nbval

unit: $(STAMP)  ## only the unit tests (fast)
	$(PY) -m pytest tests -m "not notebook"

nbval: $(STAMP)  ## only nbval over the notebooks in the smoke profile, then what each recorded
	rm -rf "$(CURDIR)/build/nbval/results"
	COURSE_PROFILE=smoke COURSE_BUILD_DIR="$(CURDIR)/build/nbval" $(PY) -m pytest --nbval-lax --nbval-kernel-name autoencoders-course --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks
	COURSE_SMOKE_RESULTS="$(CURDIR)/build/nbval/results" $(PY) -m pytest -p no:cacheprovider tests/test_notebooks.py -k recorded_its_metrics

browser-test: $(STAMP)  ## start JupyterLab, run notebook 00 in headless Chromium (apt-get install chromium)
	COURSE_BROWSER_TEST=1 $(PY) -m pytest -p no:cacheprovider -s tests/browser

targets: $(STAMP)  ## check the quality and speed targets against build/results (after `make course`)
	$(PY) scripts/check_targets.py

lint: $(STAMP)  ## ruff over course_lib, tests, notebooks and scripts
	$(PY) -m ruff check course_lib tests notebooks scripts

lab: $(STAMP)  ## open JupyterLab in the course environment with its own kernel
	$(PY) -m course_lib.runner kernel
	$(VENV)/bin/jupyter lab notebooks/

data: $(STAMP)  ## copy or download the full Fashion-MNIST into data/fashion-mnist/
	$(PY) -m course_lib.data fetch

doctor: $(STAMP)  ## print versions and whether a GPU is seen
	$(PY) -m course_lib.doctor

lock: $(STAMP)  ## re-pin constraints.txt from the current .venv (after a tested upgrade)
	@{ head -n 2 constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -iv '^course-lib' | sort -f; } > constraints.new && mv constraints.new constraints.txt

clean:  ## remove build/ (executed notebooks, results); keeps .venv
	rm -rf build
