"""toy-fr, the default task: English -> French sentences from a small grammar, with gold alignments.

Why a grammar and not a corpus: every French word is produced *from* the English words it translates,
so the true word alignment is known exactly and the attention can be scored against it. The grammar
is chosen to make that alignment interesting rather than a diagonal:

    the black cat sat on the mat .   ->  le chat noir s' est assis sur le tapis .
    (adjective after the noun: crossing links; one English verb -> three French tokens)
    the dog of the girls went to the market .  ->  le chien des filles est allé au marché .
    (contractions: "des" <- "of the", "au" <- "to the": one French token, two English tokens)

plus gender/number agreement (noire, noirs, noires; allée, assises), elision (l' oiseau, qu' il),
relative clauses (who/that -> qui/que) and coordinated clauses (and -> et). The vocabulary is small
(about 35 nouns, 13 adjectives, 20 verbs, 10 prepositions) so a small model learns it in seconds.

Sentences are built to an exact length: every builder takes a token budget and spends all of it, so
source lengths are as uniform as the caller samples them. Alignments are (target index, source index).
"""
from __future__ import annotations

import random

from attn.data.pairs import Pair
from attn.data.text import TypedForm

FINAL = "."  # every sentence, English and French, ends with it
# A typed English sentence is read as the generator writes one: lowercase, ending with FINAL.
TYPED = TypedForm(lowercase=True, final=FINAL)

# --- lexicon -------------------------------------------------------------------------------------
# noun: english singular, english plural, french singular, french plural, gender, class
# class: a = animate (can be a subject), p = place (goal of go/come), t = thing
_NOUNS = """\
cat cats chat chats m a|dog dogs chien chiens m a|mouse mice souris souris f a
bird birds oiseau oiseaux m a|horse horses cheval chevaux m a|cow cows vache vaches f a
girl girls fille filles f a|boy boys garçon garçons m a|man men homme hommes m a
woman women femme femmes f a|child children enfant enfants m a|teacher teachers professeur professeurs m a
friend friends ami amis m a|farmer farmers fermier fermiers m a|king kings roi rois m a
queen queens reine reines f a|house houses maison maisons f p|garden gardens jardin jardins m p
market markets marché marchés m p|city cities ville villes f p|school schools école écoles f p
river rivers rivière rivières f p|street streets rue rues f p|mat mats tapis tapis m t
table tables table tables f t|chair chairs chaise chaises f t|tree trees arbre arbres m t
book books livre livres m t|apple apples pomme pommes f t|bread breads pain pains m t
car cars voiture voitures f t|window windows fenêtre fenêtres f t|box boxes boîte boîtes f t
ball balls balle balles f t"""
NOUNS = tuple(tuple(entry.split()) for line in _NOUNS.splitlines() for entry in line.split("|"))

# adjective: english, french m.sg f.sg m.pl f.pl, position relative to the noun in French
_ADJECTIVES = """\
black noir noire noirs noires post|white blanc blanche blancs blanches post
red rouge rouge rouges rouges post|green vert verte verts vertes post|blue bleu bleue bleus bleues post
happy heureux heureuse heureux heureuses post|tired fatigué fatiguée fatigués fatiguées post
hungry affamé affamée affamés affamées post|big grand grande grands grandes pre
small petit petite petits petites pre|beautiful beau belle beaux belles pre
young jeune jeune jeunes jeunes pre|good bon bonne bons bonnes pre"""
ADJECTIVES = tuple(tuple(e.split()) for line in _ADJECTIVES.splitlines() for e in line.split("|"))

# verb: en 3sg, en plural, en past, en particle ("-" none), fr 3sg, fr 3pl, fr participle,
# auxiliary (a = avoir, e = être, r = reflexive "se" + être), kind (intr | move | trans)
_VERBS = """\
sleeps sleep slept - dort dorment dormi a intr|runs run ran - court courent couru a intr
sings sing sang - chante chantent chanté a intr|plays play played - joue jouent joué a intr
swims swim swam - nage nagent nagé a intr|arrives arrive arrived - arrive arrivent arrivé e intr
leaves leave left - part partent parti e intr|falls fall fell - tombe tombent tombé e intr
sits sit sat - assoit assoient assis r intr|goes go went - va vont allé e move
comes come came - vient viennent venu e move|sees see saw - voit voient vu a trans
eats eat ate - mange mangent mangé a trans|likes like liked - aime aiment aimé a trans
finds find found - trouve trouvent trouvé a trans|takes take took - prend prennent pris a trans
follows follow followed - suit suivent suivi a trans|buys buy bought - achète achètent acheté a trans
looks look looked at regarde regardent regardé a trans
waits wait waited for attend attendent attendu a trans"""
VERBS = tuple(tuple(e.split()) for line in _VERBS.splitlines() for e in line.split("|"))
_MOVE_PREP = {"goes": ("to", "à"), "comes": ("from", "de")}  # the goal phrase each move verb takes

# place/manner phrases after a verb: english words -> french words (each aligned to all of them)
PREPOSITIONS = ((("on",), ("sur",)), (("in",), ("dans",)), (("under",), ("sous",)),
                (("near",), ("près", "de")), (("behind",), ("derrière",)), (("with",), ("avec",)),
                (("in", "front", "of"), ("devant",)))
# determiners: english -> (french masculine, feminine); singular and plural sets
_DET_SG = (("the", "le", "la"), ("a", "un", "une"), ("every", "chaque", "chaque"), ("this", "ce", "cette"))
_DET_PL = (("the", "les", "les"), ("some", "quelques", "quelques"), ("two", "deux", "deux"),
           ("three", "trois", "trois"), ("these", "ces", "ces"))
NAMES = (("paul", "m"), ("pierre", "m"), ("marie", "f"), ("anne", "f"))
_PRONOUNS = (("he", "il", "m"), ("she", "elle", "f"))

_BY_CLASS = {"any": NOUNS, "animate": tuple(n for n in NOUNS if n[5] == "a"),
             "place": tuple(n for n in NOUNS if n[5] == "p"),
             "inanimate": tuple(n for n in NOUNS if n[5] != "a")}
_PRE = tuple(a for a in ADJECTIVES if a[5] == "pre")
_POST = tuple(a for a in ADJECTIVES if a[5] == "post")
_BY_KIND = {k: tuple(v for v in VERBS if v[8] == k) for k in ("intr", "move", "trans")}
_SIMPLE_TRANS = tuple(v for v in _BY_KIND["trans"] if v[3] == "-")
_VOWELS = frozenset("aeiouéèêh")  # "h" is mute in every French word here (homme, heureux)

Unit = tuple  # (french word, tuple of source indices it translates)


def _agree(participle: str, gender: str, plural: bool) -> str:
    """Past participle agreement: vu -> vue, vus, vues; assis -> assise, assis, assises."""
    if gender == "f":
        participle += "e"
    if plural and not participle.endswith("s"):
        participle += "s"
    return participle


class _Sentence:
    """Builds one sentence: English tokens appended in order, French units returned by each rule.

    Every rule takes a budget `n` of English tokens and spends exactly `n` of them; the French side
    is a list of (word, source indices) units that the parent may reorder (adjectives, relatives).
    """

    def __init__(self, rng: random.Random):
        self.random = rng.random  # pick/between below are ~3x faster than rng.choice/randint
        self.en: list[str] = []

    def pick(self, options):
        return options[int(self.random() * len(options))]

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))

    def split(self, total: int, parts: int, minimum: int) -> list[int]:
        """`parts` random sizes >= minimum summing to total."""
        spare = total - parts * minimum
        cuts = sorted(self.between(0, spare) for _ in range(parts - 1))
        return [minimum + b - a for a, b in zip([0] + cuts, cuts + [spare])]

    def emit(self, word: str) -> int:
        self.en.append(word)
        return len(self.en) - 1

    def sentence(self, length: int) -> list[Unit]:
        """length = all source tokens including the final '.'; clauses joined by 'and' share the rest."""
        body = length - 1
        n_max = (body + 1) // 3  # each clause needs >= 2 tokens, each joint one "and"
        n_clauses = max(1, min(n_max, round((body + 1) / (6 + 7 * self.random()))))
        sizes = self.split(body - (n_clauses - 1), n_clauses, 2)
        fr: list[Unit] = []
        for k, size in enumerate(sizes):
            if k:
                fr.append(("et", (self.emit("and"),)))
            fr += self.clause(size)
        fr.append((FINAL, (self.emit(FINAL),)))
        return fr

    def clause(self, n: int) -> list[Unit]:
        """Subject + verb phrase; the subject takes at most about half the budget."""
        s = self.between(1, max(1, min(n - 1, 1 + (n - 1) // 2)))
        fr, gender, plural = self.subject(s)
        return fr + self.verb_phrase(n - s, gender, plural, self.random() < 0.5)

    def subject(self, n: int) -> tuple[list[Unit], str, bool]:
        if n == 1 and self.random() < 0.4:
            en, fr, gender = self.pick(_PRONOUNS)
            return [(fr, (self.emit(en),))], gender, False
        return self.noun_phrase(n, "animate")

    def noun_phrase(self, n: int, kind: str = "any") -> tuple[list[Unit], str, bool]:
        """det [pre-adj] [post-adj] noun [of NP | that/who ... ] -> fr det [pre] noun [post] [...]."""
        if n == 1:  # a name (places and things never are one; callers give them >= 2)
            name, gender = self.pick(NAMES)
            return [(name, (self.emit(name),))], gender, False
        bases = [b for b in (2, 3, 4) if n - b == 0 or n - b >= 2]
        base = self.pick([b for b in bases for _ in range((5, 4, 2)[b - 2])])  # fewer adjectives likelier
        noun = self.pick(_BY_CLASS[kind])
        plural = self.random() < 0.35
        gender = noun[4]
        det = self.pick(_DET_PL if plural else _DET_SG)
        pre = post = None
        if base == 4:
            pre, post = self.pick(_PRE), self.pick(_POST)
        elif base == 3:
            pre, post = (self.pick(_PRE), None) if self.random() < 0.4 else (None, self.pick(_POST))
        form = 2 * plural + (gender == "f") + 1  # index of the agreeing adjective form
        fr = [(det[1] if gender == "m" else det[2], (self.emit(det[0]),))]
        if pre:
            fr.append((pre[form], (self.emit(pre[0]),)))
        post_unit = (post[form], (self.emit(post[0]),)) if post else None
        fr.append((noun[3] if plural else noun[2], (self.emit(noun[1] if plural else noun[0]),)))
        if post_unit:
            fr.append(post_unit)
        rest = n - base
        if rest:
            fr += self.noun_extension(rest, noun[5] == "a", gender, plural)
        return fr, gender, plural

    def noun_extension(self, n: int, animate: bool, gender: str, plural: bool) -> list[Unit]:
        """n >= 2 tokens after a noun: "of NP", a subject relative or an object relative."""
        options = ["of"] + ["subj"] * animate + ["obj"] * (n >= 3)
        choice = self.pick(options)
        if choice == "of":
            of = self.emit("of")
            inner = self.noun_phrase(n - 1)[0]
            return [("de", (of,))] + inner
        if choice == "subj":  # the cat that sat ... -> le chat qui s'est assis ...
            rel = self.emit(self.pick(("who", "that")))
            return [("qui", (rel,))] + self.verb_phrase(n - 1, gender, plural, self.random() < 0.5)
        # object relative: the mouse that the cat saw -> la souris que le chat a vue
        rel = self.emit("that")
        verb = self.pick(_BY_KIND["trans"] if n >= 4 else _SIMPLE_TRANS)
        width = 1 + (verb[3] != "-")
        room = n - 1 - width                        # tokens for the subject and a place phrase
        place = self.between(3, room - 1) if room >= 4 and self.random() < 0.3 else 0
        subj, s_gender, s_plural = self.subject(room - place)
        fr = [("que", (rel,))] + subj
        fr += self.verb(verb, s_gender, s_plural, self.random() < 0.5, (gender, plural))
        return fr + (self.place_phrase(place) if place else [])

    def verb_phrase(self, n: int, gender: str, plural: bool, past: bool) -> list[Unit]:
        """intransitive [place] | go/come to/from PLACE | transitive object [place].

        Feasible budgets: intransitive 1 or >= 4 (a place phrase takes >= 3), transitive >= 2,
        go/come >= 4; so every n >= 1 has at least one shape.
        """
        kinds = ["intr"] * (n == 1 or n >= 4) + ["trans"] * 2 * (n >= 2) + ["move"] * (n >= 4)
        kind = self.pick(kinds)
        if kind == "intr":
            verb = self.pick(_BY_KIND["intr"])
            fr = self.verb(verb, gender, plural, past)
            return fr + (self.place_phrase(n - 1) if n > 1 else [])
        if kind == "move":
            verb = self.pick(_BY_KIND["move"])
            fr = self.verb(verb, gender, plural, past)
            en_prep, fr_prep = _MOVE_PREP[verb[0]]
            return fr + [(fr_prep, (self.emit(en_prep),))] + self.noun_phrase(n - 2, "place")[0]
        verb = self.pick(_BY_KIND["trans"] if n >= 3 else _SIMPLE_TRANS)
        fr = self.verb(verb, gender, plural, past)
        rest = n - 1 - (verb[3] != "-")
        place = self.between(3, rest - 1) if rest >= 4 and self.random() < 0.35 else 0
        fr += self.noun_phrase(rest - place)[0]
        return fr + (self.place_phrase(place) if place else [])

    def verb(self, verb: tuple, gender: str, plural: bool, past: bool,
             object_before: tuple[str, bool] | None = None) -> list[Unit]:
        """The verb group: present "voit", passé composé "a vu", reflexive "s'est assis".

        Participles agree with the subject after être, and with a direct object that comes before
        them after avoir (object relatives: "la souris que le chat a vue").
        """
        en3, en_pl, en_past, particle, fr3, fr_pl, participle, aux, _ = verb
        src = (self.emit(en_past if past else en_pl if plural else en3),)
        if particle != "-":
            src += (self.emit(particle),)
        reflexive = [("se", src)] if aux == "r" else []
        if not past:
            return reflexive + [(fr_pl if plural else fr3, src)]
        if aux == "a":
            auxiliary = "ont" if plural else "a"
            if object_before:
                participle = _agree(participle, *object_before)
        else:
            auxiliary = "sont" if plural else "est"
            participle = _agree(participle, gender, plural)
        return reflexive + [(auxiliary, src), (participle, src)]

    def place_phrase(self, n: int) -> list[Unit]:
        """on the mat -> sur le tapis; near the tree -> près de l'arbre; in front of -> devant.

        n >= 3: the object is a place or a thing, never a name (nobody sleeps "in marie").
        """
        en, fr = self.pick([p for p in PREPOSITIONS if len(p[0]) <= n - 2])
        src = tuple(self.emit(w) for w in en)
        return [(w, src) for w in fr] + self.noun_phrase(n - len(en), "inanimate")[0]


_CONTRACT = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}
_ELIDE_ARTICLE = {"le": "l'", "la": "l'", "ce": "cet", "beau": "bel"}
_ELIDE_WORD = {"de": "d'", "que": "qu'", "se": "s'"}


def _surface(units: list[Unit]) -> list[Unit]:
    """Apply French spelling rules; merged words keep the union of their links.

    Order matters: "de le oiseau" must become "de l'oiseau", not "du oiseau", so articles elide
    first, then de/à contract with what is left of le/les, then de/que/se elide.
    """
    def vowel_next(seq: list[Unit], i: int) -> bool:
        return i + 1 < len(seq) and seq[i + 1][0][0] in _VOWELS

    units = [(_ELIDE_ARTICLE[w], s) if w in _ELIDE_ARTICLE and vowel_next(units, i) else (w, s)
             for i, (w, s) in enumerate(units)]
    merged: list[Unit] = []
    for word, src in units:
        if merged and (merged[-1][0], word) in _CONTRACT:
            prev_word, prev_src = merged.pop()
            word, src = _CONTRACT[prev_word, word], prev_src + src
        merged.append((word, src))
    return [(_ELIDE_WORD[w], s) if w in _ELIDE_WORD and vowel_next(merged, i) else (w, s)
            for i, (w, s) in enumerate(merged)]


def generate(rng: random.Random, min_len: int, max_len: int) -> Pair:
    """One English/French pair whose English side has a length drawn uniformly from [min_len, max_len]."""
    sentence = _Sentence(rng)
    units = _surface(sentence.sentence(rng.randint(min_len, max_len)))
    en = sentence.en
    for i in range(len(en) - 1):  # English a/an is spelled after the fact, like French elision
        if en[i] == "a" and en[i + 1][0] in "aeiou":
            en[i] = "an"
    align = frozenset((t, s) for t, (_, srcs) in enumerate(units) for s in srcs)
    return Pair(tuple(en), tuple(w for w, _ in units), align)
