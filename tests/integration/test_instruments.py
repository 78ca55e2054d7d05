#!/usr/bin/env python3
"""`attune instruments ...` as a person uses it: list, show, check, score
(answers on standard input; scores or every problem, with exit codes),
import-redcap (notes on standard error, files with --out), export-redcap and
export-fhir, and the usage errors. Needs no database."""
import json
import os
import shutil

from harness import Home, Tap, SOURCE_ROOT

DEFS = os.path.join(SOURCE_ROOT, 'instruments', 'definitions')
REDCAP = os.path.join(SOURCE_ROOT, 'tests', 'unit', 'data', 'redcap',
                      'wellbeing_study_DataDictionary_2024-03-18.csv')
BROKEN = os.path.join(SOURCE_ROOT, 'tests', 'unit', 'data', 'broken')


def as_json(t, text, name):
    try:
        return json.loads(text)
    except ValueError as e:
        t.ok(False, name + ' is JSON', '%s\n%s' % (e, text[:2000]))
        return None


t = Tap()
with Home(t) as home:
    r = home.attune('instruments', 'list')
    t.is_(r.returncode, 0, 'list: exit 0')
    for ident in ('gad7', 'gad2', 'phq9', 'phq8', 'who5', 'ecrr', 'pss10'):
        t.contains(r.stdout, '\n' + ident + ' ', 'list shows ' + ident)
    t.contains(r.stdout, 'study-supplied', 'list says which ship without texts')

    r = home.attune('instruments', 'show', 'gad7')
    t.is_(r.returncode, 0, 'show gad7: exit 0')
    d = as_json(t, r.stdout, 'show output')
    if d:
        t.is_(d['loinc']['panel'], '69737-5', 'show: the GAD-7 panel code')
        t.is_(len(d['items']), 7, 'show: seven items')
    r = home.attune('instruments', 'show', 'gad7', '--version', '9')
    t.is_(r.returncode, 1, 'show an unknown version: exit 1')
    t.contains(r.stderr, 'no instrument "gad7" version "9"', 'and says so')
    r = home.attune('instruments', 'show', 'nope')
    t.is_(r.returncode, 1, 'show an unknown instrument: exit 1')
    t.contains(r.stderr, 'HINT:', 'with a hint')

    r = home.attune('instruments', 'check', os.path.join(DEFS, 'phq9-1.json'))
    t.is_(r.returncode, 0, 'check a good file: exit 0')
    t.contains(r.stdout, 'ok: phq9 version 1: 10 items', 'check reports what it found')
    t.contains(r.stdout, 'sha256 ', 'and the checksum')
    r = home.attune('instruments', 'check', os.path.join(BROKEN, 'bands-gap.json'))
    t.is_(r.returncode, 1, 'check a broken file: exit 1')
    t.contains(r.stderr, '"bands-gap.json": /scores/0/bands/ranges/1: gap between band',
               'check names the file, the field and the problem')

    # Scoring by hand: the PHQ-9 with one item missing (NHS rule) and item 9 above 0.
    answers = {'phq9_1': 1, 'phq9_2': 2, 'phq9_3': 3, 'phq9_4': 1, 'phq9_5': 2,
               'phq9_6': 0, 'phq9_7': 1, 'phq9_9': 1}
    r = home.attune('instruments', 'score', 'phq9', input=json.dumps(answers))
    t.is_(r.returncode, 0, 'score phq9: exit 0')
    s = as_json(t, r.stdout, 'score output')
    if s:
        t.is_(s['total'], 12.375, 'PHQ-9 total prorated: 11 + 11/8')
        t.is_(s['band'], 'moderate', 'band')
        t.is_(s['cutoffs'], {'caseness': True, 'remission': False}, 'cut-offs')
        t.is_(s['flags'], ['phq9_item9_positive'], 'item 9 raises the safety flag')
        t.is_((s['items_answered'], s['items_missing'], s['prorated'], s['voided']),
              (8, 2, True, False), 'counts and proration')
        t.is_(s['scores']['phq8']['voided'], True, 'the PHQ-8 subscale is void')

    r = home.attune('instruments', 'score', 'who5',
                    input='{"who5_1": 2, "who5_2": 2, "who5_3": 1, "who5_4": 1, "who5_5": 1}')
    s = as_json(t, r.stdout, 'WHO-5 score')
    if s:
        t.is_((s['total'], s['scores']['raw']['value']), (28, 7), 'WHO-5: raw 7, x4 = 28')
        t.is_(s['cutoffs'], {'poor_wellbeing': True, 'likely_depression': True}, 'WHO-5 cut-offs')

    r = home.attune('instruments', 'score', 'gad7',
                    input='{"gad7_1": 4, "gad7_2": "1", "gad7_9": 0}')
    t.is_(r.returncode, 1, 'score with bad answers: exit 1')
    s = as_json(t, r.stdout, 'score errors')
    if s:
        got = [(x['pointer'], x['code']) for x in s['errors']]
        t.is_(got[:3], [('/gad7_1', 'invalid-value'), ('/gad7_2', 'not-a-number'),
                        ('/gad7_9', 'unknown-item')], 'every problem, in order, with pointers')
        t.is_(len(got), 3 + 5, 'and the five required items not answered')
    t.contains(r.stderr, '8 problems with the answers for "gad7"', 'stderr says how many')
    r = home.attune('instruments', 'score', 'gad7', input='{"gad7_1": ')
    t.is_(r.returncode, 1, 'score with invalid JSON: exit 1')
    t.contains(r.stderr, 'answers are not valid JSON', 'and says so')

    # REDCap: a dictionary written by REDCap imports; notes list what was not translated.
    out = os.path.join(home.root, 'imported')
    os.mkdir(out)
    r = home.attune('instruments', 'import-redcap', REDCAP, '--out', out)
    t.is_(r.returncode, 0, 'import-redcap: exit 0')
    t.is_(sorted(os.listdir(out)), ['demographics-1.json', 'gad7-1.json', 'phq9-1.json',
                                    'sleep_and_mood-1.json'], 'one file per form')
    t.contains(r.stderr, 'field "phq9_total": calculated field not translated',
               'calculated fields are listed')
    t.contains(r.stderr, 'field "phq9_10": branching logic not translated',
               'branching logic is listed')
    r2 = home.attune('instruments', 'check', os.path.join(out, 'phq9-1.json'))
    t.is_(r2.returncode, 0, 'an imported definition passes check')
    r = home.attune('instruments', 'import-redcap', REDCAP, '--out', out)
    t.is_(r.returncode, 1, 'import-redcap does not overwrite files')

    # Export to REDCap and back: the definition is unchanged.
    r = home.attune('instruments', 'export-redcap', 'ecrr')
    t.is_(r.returncode, 0, 'export-redcap: exit 0')
    t.ok(r.stdout.startswith('\ufeff"Variable / Field Name"'), 'export starts like REDCap\'s')
    csv_path = os.path.join(home.root, 'ecrr.csv')
    with open(csv_path, 'w', newline='') as f:
        f.write(r.stdout)
    r = home.attune('instruments', 'import-redcap', csv_path)
    back = as_json(t, r.stdout, 'import of the export')
    orig = as_json(t, home.attune('instruments', 'show', 'ecrr').stdout, 'show ecrr')
    t.ok(back is not None and back == orig, 'ECR-R survives export-redcap and import-redcap')

    # FHIR.
    r = home.attune('instruments', 'export-fhir', 'phq9',
                    env={'ATTUNE_PUBLIC_URL': 'https://study.example'})
    t.is_(r.returncode, 0, 'export-fhir: exit 0')
    q = as_json(t, r.stdout, 'export-fhir output')
    if q:
        t.is_(q['resourceType'], 'Questionnaire', 'a Questionnaire')
        t.is_(q['url'], 'https://study.example/fhir/Questionnaire/phq9', 'canonical URL')
        item9 = [i for i in q['item'] if i['linkId'] == 'phq9_9'][0]
        t.is_(item9['code'][0]['code'], '44260-8', 'item 9 LOINC code')
        t.is_(item9['answerOption'][1]['extension'][0],
              {'url': 'http://hl7.org/fhir/StructureDefinition/itemWeight', 'valueDecimal': 1.0},
              'itemWeight on the options')
    texts = {'attune_texts': 1, 'instrument': 'pss10', 'version': '1', 'language': 'en',
             'permission': 'test', 'items': {'pss10_%d' % i: 'Statement %d' % i
                                             for i in range(1, 11)}}
    tpath = os.path.join(home.root, 'pss10-texts.json')
    with open(tpath, 'w') as f:
        json.dump(texts, f)
    r = home.attune('instruments', 'export-fhir', 'pss10', '--texts', tpath)
    q = as_json(t, r.stdout, 'export-fhir with texts')
    if q:
        t.is_([i.get('text') for i in q['item'] if i['linkId'] == 'pss10_4'], ['Statement 4'],
              'a study\'s texts fill a scoring key')

    # Usage errors.
    r = home.attune('instruments')
    t.is_(r.returncode, 2, 'no action: exit 2')
    r = home.attune('instruments', 'frobnicate')
    t.is_(r.returncode, 2, 'unknown action: exit 2')
    r = home.attune('instruments', 'score')
    t.is_(r.returncode, 2, 'missing argument: exit 2')
    r = home.attune('instruments', 'list', '--out', '/tmp')
    t.is_(r.returncode, 2, 'an option the action does not take: exit 2')

    # A definitions folder with a bad file fails every command that needs the registry.
    bad = os.path.join(home.root, 'defs')
    shutil.copytree(DEFS, bad)
    shutil.copy(os.path.join(BROKEN, 'duplicate-item-id.json'), os.path.join(bad, 'demo-1.json'))
    r = home.attune('instruments', 'list', env={'ATTUNE_INSTRUMENTS_DIR': bad})
    t.is_(r.returncode, 1, 'a broken definition in the folder: exit 1')
    t.contains(r.stderr, '"demo-1.json": /items/2/id: duplicate item id', 'naming file and field')
t.done()
