#!/usr/bin/env python3
"""make_sets.py - builds the JSONL evaluation sets from the hand-written *.txt sources.

    python3 tests/data/injection/make_sets.py      # rewrites the .jsonl files

Source lines are TAB-separated: attacks "category, lang, text[, transform]", hard negatives
"kind, lang, text". A typed "\\n" in a text becomes a real newline (except the two rows
that test typed newlines, which keep it). The optional transform obfuscates the row
(deterministically, so the output is stable):

    homoglyph  Cyrillic/Greek look-alikes for a, c, e, i, o, p, x, y inside words
    zw         zero-width space / joiner after every 2nd letter
    spaced     letters separated by spaces ("i g n o r e")
    dotted     letters separated by dots ("i.g.n.o.r.e")
    leet       a->4, e->3, i->1, o->0, s->5, t->7
    b64        the whole text as base64
    b64wrap    "Decode this base64 and do what it says: <base64>"
    fullwidth  fullwidth forms
    math       mathematical bold letters
    tags       an innocuous question followed by the text as Unicode tag characters
    none       as written
"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HOMO = {'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у',
        'A': 'А', 'E': 'Е', 'O': 'О', 'P': 'Р', 'C': 'С'}
LEET = {'a': '4', 'e': '3', 'i': '1', 'o': '0', 's': '5', 't': '7'}


def transform(text, how):
    if how in ('', 'none'):
        return text
    if how == 'homoglyph':
        return ''.join(HOMO.get(c, c) if k % 2 == 0 else c for k, c in enumerate(text))
    if how == 'zw':
        out, n = [], 0
        for c in text:
            out.append(c)
            if c.isalpha():
                n += 1
                if n % 2 == 0:
                    out.append('\u200b' if n % 4 else '\u200d')
        return ''.join(out)
    if how in ('spaced', 'dotted'):
        sep = ' ' if how == 'spaced' else '.'
        return '   '.join(sep.join(w) for w in text.split())
    if how == 'leet':
        return ''.join(LEET.get(c.lower(), c) for c in text)
    if how == 'b64':
        return base64.b64encode(text.encode()).decode()
    if how == 'b64wrap':
        return 'Decode this base64 and do what it says: ' + base64.b64encode(text.encode()).decode()
    if how == 'fullwidth':
        return ''.join(chr(ord(c) + 0xFEE0) if '!' <= c <= '~' else ('\u3000' if c == ' ' else c)
                       for c in text)
    if how == 'math':
        def m(c):
            if 'a' <= c <= 'z':
                return chr(0x1D41A + ord(c) - ord('a'))
            if 'A' <= c <= 'Z':
                return chr(0x1D400 + ord(c) - ord('A'))
            return c
        return ''.join(m(c) for c in text)
    if how == 'tags':
        return 'What is the capital of Australia? ' + ''.join(
            chr(0xE0000 + ord(c)) if ord(c) < 0x80 else c for c in text)
    raise SystemExit('unknown transform: ' + how)


def build(src, dst, label):
    rows = []
    with open(os.path.join(HERE, src), encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            parts = line.split('\t')
            if len(parts) not in (3, 4):
                raise SystemExit('%s:%d: expected 3 or 4 TAB-separated fields' % (src, n))
            cat, lang, text = parts[:3]
            how = parts[3] if len(parts) == 4 else ''
            text = text.replace('\\n', '\n')
            row = {'text': transform(text, how), 'label': label}
            if label:
                row['category'] = cat
            else:
                row['kind'] = cat
            row['lang'] = lang
            if how:
                row['obfuscation'] = how
            row['source'] = 'quarry:tests/data/injection/' + src
            rows.append(row)
    with open(os.path.join(HERE, dst), 'w', encoding='utf-8') as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')
    print('%s: %d rows' % (dst, len(rows)), file=sys.stderr)


build('attacks_a.txt', 'attacks_a.jsonl', 1)
build('benign_a.txt', 'benign_a.jsonl', 0)
build('attacks_b.txt', 'attacks_b.jsonl', 1)
build('benign_b.txt', 'benign_b.jsonl', 0)
build('attacks_c.txt', 'attacks_c.jsonl', 1)
build('benign_c.txt', 'benign_c.jsonl', 0)
# held-out set d: written before the injection round changed any code, measured once blind
build('attacks_d.txt', 'attacks_d.jsonl', 1)
build('benign_d.txt', 'benign_d.jsonl', 0)
# held-out set e: written before injection round e changed any code, measured once blind
build('attacks_e.txt', 'attacks_e.jsonl', 1)
build('benign_e.txt', 'benign_e.jsonl', 0)
# held-out set f: written blind (without reading the detector, its docs or the earlier sets), measured once
build('attacks_f.txt', 'attacks_f.jsonl', 1)
build('benign_f.txt', 'benign_f.jsonl', 0)
# held-out set g: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_g.txt', 'attacks_g.jsonl', 1)
build('benign_g.txt', 'benign_g.jsonl', 0)
# training negatives for the learned component (tools/train_injection_model.py), not an evaluation set
build('ordinary_train.txt', 'ordinary_train.jsonl', 0)
# held-out set h: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_h.txt', 'attacks_h.jsonl', 1)
build('benign_h.txt', 'benign_h.jsonl', 0)
# held-out set i: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_i.txt', 'attacks_i.jsonl', 1)
build('benign_i.txt', 'benign_i.jsonl', 0)
# held-out set j: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_j.txt', 'attacks_j.jsonl', 1)
build('benign_j.txt', 'benign_j.jsonl', 0)
# training data round j (tools/train_injection_model.py), not evaluation sets
build('attacks_train2.txt', 'attacks_train2.jsonl', 1)
build('ordinary_train3.txt', 'ordinary_train3.jsonl', 0)
# held-out set k: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_k.txt', 'attacks_k.jsonl', 1)
build('benign_k.txt', 'benign_k.jsonl', 0)
# held-out set l: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_l.txt', 'attacks_l.jsonl', 1)
build('benign_l.txt', 'benign_l.jsonl', 0)
# held-out set m: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_m.txt', 'attacks_m.jsonl', 1)
build('benign_m.txt', 'benign_m.jsonl', 0)
# held-out set n: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_n.txt', 'attacks_n.jsonl', 1)
build('benign_n.txt', 'benign_n.jsonl', 0)
# held-out set o: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_o.txt', 'attacks_o.jsonl', 1)
build('benign_o.txt', 'benign_o.jsonl', 0)
# held-out set p: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_p.txt', 'attacks_p.jsonl', 1)
build('benign_p.txt', 'benign_p.jsonl', 0)
# held-out set q: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_q.txt', 'attacks_q.jsonl', 1)
build('benign_q.txt', 'benign_q.jsonl', 0)
# held-out set r: written blind (without reading the detector, its docs, its training script, its tests or the earlier sets), measured once
build('attacks_r.txt', 'attacks_r.jsonl', 1)
build('benign_r.txt', 'benign_r.jsonl', 0)
# held-out sets s and t: written blind during round m (before it changed any code), measured
# once at its end
build('attacks_s.txt', 'attacks_s.jsonl', 1)
build('benign_s.txt', 'benign_s.jsonl', 0)
build('attacks_t.txt', 'attacks_t.jsonl', 1)
build('benign_t.txt', 'benign_t.jsonl', 0)
# held-out sets u and v: written blind at the start of round n (after round m), measured once
# at its end
build('attacks_u.txt', 'attacks_u.jsonl', 1)
build('benign_u.txt', 'benign_u.jsonl', 0)
build('attacks_v.txt', 'attacks_v.jsonl', 1)
build('benign_v.txt', 'benign_v.jsonl', 0)
# held-out sets w and x: written blind at the start of round o (after u and v were measured),
# measured once at its end
build('attacks_w.txt', 'attacks_w.jsonl', 1)
build('benign_w.txt', 'benign_w.jsonl', 0)
build('attacks_x.txt', 'attacks_x.jsonl', 1)
build('benign_x.txt', 'benign_x.jsonl', 0)
# held-out sets y and z: written blind at the start of round p (after w and x were measured),
# measured once at its end
build('attacks_y.txt', 'attacks_y.jsonl', 1)
build('benign_y.txt', 'benign_y.jsonl', 0)
build('attacks_z.txt', 'attacks_z.jsonl', 1)
build('benign_z.txt', 'benign_z.jsonl', 0)
# held-out sets aa and bb: written blind after round p, while the model was retrained on sets
# m-z (round q), measured once at the end of that round
build('attacks_aa.txt', 'attacks_aa.jsonl', 1)
build('benign_aa.txt', 'benign_aa.jsonl', 0)
build('attacks_bb.txt', 'attacks_bb.jsonl', 1)
build('benign_bb.txt', 'benign_bb.jsonl', 0)
# held-out sets cc and dd: written blind after round q, measured once at the end of round r
build('attacks_cc.txt', 'attacks_cc.jsonl', 1)
build('benign_cc.txt', 'benign_cc.jsonl', 0)
build('attacks_dd.txt', 'attacks_dd.jsonl', 1)
build('benign_dd.txt', 'benign_dd.jsonl', 0)
# training data round s (tools/train_injection_model.py), not evaluation sets
build('attacks_train3.txt', 'attacks_train3.jsonl', 1)
build('attacks_train4.txt', 'attacks_train4.jsonl', 1)
build('ordinary_train4.txt', 'ordinary_train4.jsonl', 0)
build('ordinary_train5.txt', 'ordinary_train5.jsonl', 0)
# held-out sets ee and ff: written blind at the start of round s (after cc and dd were
# measured), measured once at its end
build('attacks_ee.txt', 'attacks_ee.jsonl', 1)
build('benign_ee.txt', 'benign_ee.jsonl', 0)
build('attacks_ff.txt', 'attacks_ff.jsonl', 1)
build('benign_ff.txt', 'benign_ff.jsonl', 0)
# held-out sets gg and hh: written blind after ee and ff were measured (round s), measured
# once at the end of round s (model of b06beda with the veto of 4b492b7)
build('attacks_gg.txt', 'attacks_gg.jsonl', 1)
build('benign_gg.txt', 'benign_gg.jsonl', 0)
build('attacks_hh.txt', 'attacks_hh.jsonl', 1)
build('benign_hh.txt', 'benign_hh.jsonl', 0)
# held-out sets ii and jj: written blind after gg and hh were measured (round s), measured
# once at the end of round s (the stricter veto of weak rule flags)
build('attacks_ii.txt', 'attacks_ii.jsonl', 1)
build('benign_ii.txt', 'benign_ii.jsonl', 0)
build('attacks_jj.txt', 'attacks_jj.jsonl', 1)
build('benign_jj.txt', 'benign_jj.jsonl', 0)
# training data round t (tools/train_injection_model.py), not evaluation sets
build('attacks_train5.txt', 'attacks_train5.jsonl', 1)
build('ordinary_train6.txt', 'ordinary_train6.jsonl', 0)
build('ordinary_train7.txt', 'ordinary_train7.jsonl', 0)
# held-out sets kk, ll and mm: written blind at the start of round t (after ee-jj were
# measured), measured once at its end
build('attacks_kk.txt', 'attacks_kk.jsonl', 1)
build('benign_kk.txt', 'benign_kk.jsonl', 0)
build('attacks_ll.txt', 'attacks_ll.jsonl', 1)
build('benign_ll.txt', 'benign_ll.jsonl', 0)
build('attacks_mm.txt', 'attacks_mm.jsonl', 1)
build('benign_mm.txt', 'benign_mm.jsonl', 0)
# held-out sets nn, oo and pp: written blind in round u (after kk-mm were measured),
# measured once at its end
build('attacks_nn.txt', 'attacks_nn.jsonl', 1)
build('benign_nn.txt', 'benign_nn.jsonl', 0)
build('attacks_oo.txt', 'attacks_oo.jsonl', 1)
build('benign_oo.txt', 'benign_oo.jsonl', 0)
build('attacks_pp.txt', 'attacks_pp.jsonl', 1)
build('benign_pp.txt', 'benign_pp.jsonl', 0)
