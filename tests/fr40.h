#ifndef AK_TEST_FR40_H
#define AK_TEST_FR40_H

/* Shared by the word and BPE tokenizer tests: their expected vocabularies were
   produced by the twin's tokenizers on exactly these sentences, so both must
   read the same list. */
/* the first 40 French sentences of shared/data/eng-fra.tsv */
static const char *const fr40[40] = {
    "Vous êtes-vous blessée ?",
    "Sors-nous de là.",
    "Il vous a trahie.",
    "Faisons ceci en premier.",
    "Je recommande ceci.",
    "Quelle heure est-il ?",
    "Toutes mes plantes sont mortes.",
    "Essaie de ne pas avoir l'air si nerveux !",
    "L'avez-vous appelé hier ?",
    "C'est une sensation vraiment bonne.",
    "Je suis un menteur.",
    "Je veux ma liberté.",
    "J'ai l'impression d'être dans un rêve.",
    "Il est venu pour me voir.",
    "Ne dites rien à ma petite copine !",
    "Je suis une petite enfant.",
    "Ce bâtiment est notre école.",
    "Vous êtes tatillonne.",
    "Ils aiment leurs enfants.",
    "Je pensais vous trouver ici.",
    "Il est resté debout tard.",
    "Nous devons seulement être patientes.",
    "Nous sommes sans voix.",
    "Il vit dans le voisinage.",
    "Tu peux me faire confiance.",
    "Je ne lui parle plus.",
    "Je pense que ça dépend désormais de toi.",
    "Elle tomba amoureuse de lui.",
    "Il atteignit enfin son but.",
    "C'est vous que, de toutes, j'aime le plus.",
    "Je pense que ça va.",
    "Tom est vraiment timide, n'est-ce pas ?",
    "J'ai juste besoin d'une minute.",
    "C'est prêt.",
    "Elle est bonne en tennis.",
    "Je suis très occupé aujourd'hui.",
    "Vous ne devriez pas y aller seul.",
    "Il a tambouriné à la fenêtre.",
    "Désolée pour le bordel !",
    "Je n'en ai jamais douté.",
};

#endif
